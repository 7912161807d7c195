package remedy

import (
	"strings"

	"github.com/ktriage/ktriage/internal/udiff"
)

// Diff renders the plan's edits as one unified diff (paths relative to the
// root, a/ and b/ prefixed, as patch -p1 takes them), so that an operator
// can read exactly what apply would write.
func (p *Plan) Diff() string {
	var b strings.Builder
	for _, e := range p.Edits {
		b.WriteString(udiff.File(e.Path, e.Old, e.New, e.Create))
	}
	return b.String()
}
