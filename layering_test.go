package amqplink_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/amqplink/amqplink"

// TestImportsPointDown keeps the layering of DESIGN.md: imports only point down,
// the neutral packages never see a driver or a wire library, and the drivers never
// see each other.
func TestImportsPointDown(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps=false", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	wire := []string{"github.com/Azure/go-amqp", "github.com/rabbitmq/amqp091-go"}
	drivers := []string{module + "/amqp10", module + "/amqp091"}
	upper := []string{module, module + "/session", module + "/receiver", module + "/sender", module + "/cbs"}
	neutral := append(append([]string{}, wire...), drivers...)
	forbidden := map[string][]string{
		module + "/message":        append(append([]string{module + "/link"}, neutral...), upper...),
		module + "/errorpolicy":    append(append([]string{module + "/link", module + "/message"}, neutral...), upper...),
		module + "/sasl":           append(append([]string{module + "/link"}, neutral...), upper...),
		module + "/link":           append(append([]string{}, neutral...), upper...),
		module + "/session":        append(neutral, module),
		module + "/receiver":       append(neutral, module),
		module + "/sender":         append(neutral, module),
		module + "/cbs":            append(neutral, module),
		module + "/cbs/azidentity": append(neutral, module),
		module + "/servicebus":     append(neutral, module),
		module + "/eventhubs":      append(neutral, module),
		module + "/amqp10":         append([]string{module + "/amqp091", "github.com/rabbitmq/amqp091-go"}, upper...),
		module + "/amqp091":        append([]string{module + "/amqp10", "github.com/Azure/go-amqp"}, upper...),
		module + "/amqptest":       append(append([]string{module + "/link"}, upper...), drivers...),
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, imports := fields[0], fields[1:]
		bad, ok := forbidden[pkg]
		if !ok {
			continue
		}
		seen++
		for _, imp := range imports {
			for _, b := range bad {
				if imp == b || strings.HasPrefix(imp, b+"/") && b != module {
					t.Errorf("%s imports %s, which points up or sideways (see DESIGN.md, Layers)", pkg, imp)
				}
			}
		}
	}
	if seen < 6 {
		t.Fatalf("checked only %d packages; go list output changed shape?\n%s", seen, out)
	}
}
