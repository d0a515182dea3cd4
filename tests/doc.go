// Package tests holds amqplink's integration tests against real brokers. They
// skip when no broker answers, except under AMQPLINK_REQUIRE_BROKERS=1 (make
// test-all, CI), where a missing broker fails them. Start the brokers with
// `scripts/brokers.sh start`.
package tests
