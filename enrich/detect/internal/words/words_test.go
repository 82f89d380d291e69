package words

import (
	"strings"
	"testing"
)

func TestTerms(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"Acme's new X200 blender is AWFUL, awful!", "acme x200 blender awful"},
		{"recall: see https://acme.example/help and www.acme.example @AcmeSupport #AcmeFire $ACME", "recall"},
		{"I don't like it; it doesn’t work 2024 42", "work"},
		{"Überraschung: die Küche brennt", "überraschung küche brennt"},
		{"", ""},
		{"ab cd", ""},
	}
	for _, tt := range tests {
		got := strings.Join(Terms(nil, tt.in), " ")
		if got != tt.want {
			t.Errorf("Terms(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestTermsBounded(t *testing.T) {
	var b strings.Builder
	for i := range 100 {
		b.WriteString("word")
		b.WriteByte(byte('a' + i%26))
		b.WriteByte(byte('a' + i/26))
		b.WriteByte(' ')
	}
	if got := Terms(nil, b.String()); len(got) != MaxTerms {
		t.Errorf("len(Terms(100 distinct words)) = %d; want %d", len(got), MaxTerms)
	}
	got := Terms([]string{"keep"}, "title words", "body words")
	if strings.Join(got, " ") != "keep title words body" {
		t.Errorf("Terms(dst, title, body) = %q; want the dst prefix kept and words once", got)
	}
}

func BenchmarkTerms(b *testing.B) {
	text := "Acme is recalling the X200 after reports of cracked jars, see https://news.example.com/acme-recall #AcmeRecall @AcmeSupport — what a mess"
	var dst []string
	b.ReportAllocs()
	for b.Loop() {
		dst = Terms(dst[:0], text)
	}
}

// BenchmarkTermsArticle is Terms on a ~1 KB article whose words are
// mostly repeats, so it reads far into the text before MaxTerms.
func BenchmarkTermsArticle(b *testing.B) {
	var sb strings.Builder
	s := []string{"The Acme update broke everything on my phone, the app crashes every time I open it.",
		"Reports say Acme is recalling thousands of units after complaints about overheating.",
		"Why is the refund process so slow? I returned the item a month ago.",
		"Die neue App von Acme ist eine Katastrophe, das Update hat alles gelöscht."}
	for i := 0; sb.Len() < 1000; i++ {
		sb.WriteString(s[i%len(s)])
		sb.WriteByte(' ')
	}
	text := sb.String()
	var dst []string
	b.ReportAllocs()
	for b.Loop() {
		dst = Terms(dst[:0], "Acme recall: what we know", text)
	}
}
