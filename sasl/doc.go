// Package sasl describes SASL mechanisms as plain values that every amqplink driver
// understands: PLAIN, ANONYMOUS, EXTERNAL and XOAUTH2 (AMQPLAIN joins them for AMQP
// 0-9-1). A driver turns the value into its wire library's mechanism.
//
// Values that hold a secret print it as "REDACTED" in String, in fmt's %v and %+v,
// and in log/slog output, so a mechanism can be logged safely.
package sasl
