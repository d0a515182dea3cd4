package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestUsageErrorsExitWithTwo(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"no-such-command"},
		{"bench", "-run", "("},
		{"bench", "-rounds", "0"},
		{"bench", "-no-such-flag"},
	} {
		var out, errOut bytes.Buffer
		assert.Equal(t, 2, run(args, &out, &errOut), "args %q", args)
		assert.NotEmpty(t, errOut.String(), "args %q: says what is wrong", args)
	}
}

func TestHelpListsTheCommands(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Equal(t, 0, run([]string{"help"}, &out, &errOut))
	assert.Contains(t, out.String(), "bench")
	assert.Contains(t, out.String(), "amqp091-go", "bench compares with both raw libraries")
}
