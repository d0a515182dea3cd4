// Package benchmarks holds the benchmarks that compare amqplink with the raw
// protocol libraries (go-amqp, amqp091-go) in one process against the same
// broker. `go test -bench` runs them through tests/, and `amqplink bench` runs
// them as a program; both print one line per scenario:
//
//	scenario=<name> ours=<msg/s> baseline=<msg/s> ratio=<ours/baseline> p50_ms=<> p99_ms=<>
//
// ReceiverScenarios and SenderScenarios compare amqplink over AMQP 1.0 with raw
// go-amqp; AMQP091Scenarios compare the same receiver and sender over the AMQP
// 0-9-1 driver (amqplink.Options{Protocol: amqplink.AMQP091}) with raw
// amqp091-go. Scenario.Baseline names the library.
package benchmarks

import (
	"io"
	"os"
	"regexp"
)

// Output receives the scenario lines. Default: standard output.
var Output io.Writer = os.Stdout

// Only, when set, selects the scenarios whose names it matches.
var Only *regexp.Regexp

func selected(name string) bool { return Only == nil || Only.MatchString(name) }
