package errorpolicy_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/amqplink/amqplink/errorpolicy"
)

// The tables in the package documentation are the code's tables, row for row.
func TestDocumentedTablesMatchTheCode(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	conds := map[string]string{}
	codes := map[uint16]string{}
	for _, line := range strings.Split(string(doc), "\n") {
		f := strings.Fields(strings.TrimPrefix(line, "//"))
		switch {
		case len(f) == 2 && strings.Contains(f[0], ":"):
			conds[f[0]] = f[1]
		case len(f) == 4 && len(f[0]) == 3:
			if n, err := strconv.Atoi(f[0]); err == nil {
				codes[uint16(n)] = f[3]
				e := errorpolicy.FromReplyCode(uint16(n), "", errorpolicy.ScopeSession)
				assert.Equal(t, f[2], string(e.Condition), "reply code %d", n)
			}
		}
	}
	want := map[string]string{}
	for c, k := range errorpolicy.Classes() {
		want[string(c)] = k.String()
	}
	assert.Equal(t, want, conds, "condition table")
	wantCodes := map[uint16]string{}
	for c, k := range errorpolicy.ReplyCodes() {
		wantCodes[c] = k.String()
	}
	assert.Equal(t, wantCodes, codes, "reply code table")
}

func TestFromReplyCode(t *testing.T) {
	e := errorpolicy.FromReplyCode(404, "NOT_FOUND - no queue 'x'", errorpolicy.ScopeSession)
	assert.ErrorIs(t, e, errorpolicy.ErrNotFound)
	assert.Equal(t, errorpolicy.Fatal, errorpolicy.ClassOf(e))
	assert.EqualValues(t, 404, e.ReplyCode)
	assert.Equal(t, errorpolicy.RecoverConn, errorpolicy.ClassOf(errorpolicy.FromReplyCode(320, "CONNECTION_FORCED", errorpolicy.ScopeConn)))
	unknown := errorpolicy.FromReplyCode(999, "odd", errorpolicy.ScopeConn)
	assert.Equal(t, errorpolicy.Fatal, unknown.Class)
	assert.Equal(t, errorpolicy.Condition("amqp091:reply-code-999"), unknown.Condition)
}
