package benchmarks

import "testing"

// check fails the benchmark on err. The measured loops call it per message
// instead of require.NoError, which calls b.Helper (a stack walk) even when
// err is nil, a cost that would fall on both sides and blur their difference.
func check(b testing.TB, err error) {
	if err != nil {
		b.Helper()
		b.Fatal(err)
	}
}
