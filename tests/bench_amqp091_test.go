package tests

import (
	"testing"

	"github.com/amqplink/amqplink/internal/benchmarks"
)

// BenchmarkAMQP091VsAmqp091Go compares amqplink over its AMQP 0-9-1 driver
// (receiver and sender) with raw amqp091-go on the local RabbitMQ; see package
// benchmarks for the scenarios and the line it prints.
func BenchmarkAMQP091VsAmqp091Go(b *testing.B) { benchmarks.AMQP091(b) }
