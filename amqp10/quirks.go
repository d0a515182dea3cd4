package amqp10

import (
	"strconv"
	"strings"
)

// quirks are peer behaviours the driver must work around, detected from the
// properties in the peer's open frame.
type quirks struct {
	// nonClosingDetach: the peer answers a closing detach with a non-closing one
	// (RabbitMQ before 4.0), which go-amqp never accepts as the end of the link, so
	// its Close would wait out the caller's whole deadline. Links are then closed
	// by sending the detach and ending the session once its last link is gone.
	nonClosingDetach bool
}

func detectQuirks(peer map[string]any) quirks {
	product, _ := peer["product"].(string)
	version, _ := peer["version"].(string)
	var q quirks
	if strings.EqualFold(product, "RabbitMQ") {
		major, _, _ := strings.Cut(version, ".")
		if n, err := strconv.Atoi(major); err == nil && n < 4 {
			q.nonClosingDetach = true
		}
	}
	return q
}
