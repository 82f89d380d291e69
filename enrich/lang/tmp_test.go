package lang
import "testing"
func TestTmpL(t *testing.T) {
	for _, s := range []string{"I love my new Aero Pro, best buds ever!", "I love my new, best buds ever!", "I love my new phone", "best buds ever", "I love my", "love", "The Aero Pro is awesome", "The phone is awesome", "is awesome"} {
		c, p := Detect(s)
		t.Logf("%-50q default %s %.2f", s, c, p)
	}
}
