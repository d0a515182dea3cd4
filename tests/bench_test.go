package tests

import (
	"testing"

	"github.com/amqplink/amqplink/internal/benchmarks"
)

// BenchmarkReceiverVsGoAMQP compares the receiver with raw go-amqp on the local
// RabbitMQ; see package benchmarks for the scenarios and the line it prints.
func BenchmarkReceiverVsGoAMQP(b *testing.B) { benchmarks.Receiver(b) }

// BenchmarkSenderVsGoAMQP compares the sender with raw go-amqp on the local
// RabbitMQ; see package benchmarks.
func BenchmarkSenderVsGoAMQP(b *testing.B) { benchmarks.Sender(b) }
