// Command amqplink is the project's command-line tool.
//
//	amqplink bench [-run REGEXP] [-rounds N]
//
// bench compares amqplink with the raw protocol libraries (go-amqp for AMQP 1.0;
// amqp091-go for amqplink over its AMQP 0-9-1 driver) in one process against
// the local RabbitMQ (AMQPLINK_RABBITMQ_URL, default
// amqp://guest:guest@127.0.0.1:5672; `scripts/brokers.sh start` starts one) and
// prints one line per scenario:
//
//	scenario=<name> ours=<msg/s> baseline=<msg/s> ratio=<ours/baseline> p50_ms=<> p99_ms=<>
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"testing"

	"github.com/amqplink/amqplink/internal/benchmarks"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run runs the command in args and returns the exit status: 0 done, 1 failed,
// 2 bad usage.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) < 1 {
		usage(stderr)
		return 2
	}
	switch args[0] {
	case "bench":
		return bench(args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	default:
		fmt.Fprintf(stderr, "amqplink: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, `usage: amqplink <command> [flags]

commands:
  bench   compare amqplink's receiver and sender with raw go-amqp (AMQP 1.0)
          and raw amqp091-go (AMQP 0-9-1) on the local RabbitMQ
          (amqplink bench -h)`)
}

func bench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	only := fs.String("run", "", "run only the scenarios whose names match this regular expression")
	rounds := fs.Int("rounds", 1, "rounds per scenario; each round is 2 × 10,000 messages per side")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *rounds < 1 {
		fmt.Fprintln(stderr, "amqplink bench: -rounds must be at least 1")
		return 2
	}
	benchmarks.Output = stdout
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fmt.Fprintf(stderr, "amqplink bench: -run: %v\n", err)
			return 2
		}
		benchmarks.Only = re
	}
	if flag.Lookup("test.benchtime") == nil {
		testing.Init()
	}
	if err := flag.Set("test.benchtime", fmt.Sprintf("%dx", *rounds)); err != nil {
		fmt.Fprintln(stderr, "amqplink bench:", err)
		return 1
	}
	failed := false
	scenarios := append(benchmarks.ReceiverScenarios(), benchmarks.SenderScenarios()...)
	scenarios = append(scenarios, benchmarks.AMQP091Scenarios()...)
	for _, sc := range scenarios {
		if benchmarks.Only != nil && !benchmarks.Only.MatchString(sc.Name) {
			continue
		}
		res := testing.Benchmark(sc.Run)
		if res.N == 0 {
			fmt.Fprintf(stderr, "amqplink bench: %s did not run (is RabbitMQ up? scripts/brokers.sh start)\n", sc.Name)
			failed = true
			continue
		}
		fmt.Fprintf(stderr, "  %s: ours %.1f allocs/msg, %s %.1f allocs/msg\n", sc.Name,
			res.Extra["ours-allocs/msg"], sc.Baseline, res.Extra["baseline-allocs/msg"])
	}
	if failed {
		return 1
	}
	return 0
}
