package entities

import (
	"strings"
	"unicode/utf8"
)

// runeRange is an inclusive range of code points.
type runeRange struct{ lo, hi rune }

// pictographic is the Unicode Extended_Pictographic property (emoji-data.txt,
// Unicode 15/16; the ranges include code points reserved for future emoji).
var pictographic = []runeRange{
	{0x00A9, 0x00A9}, {0x00AE, 0x00AE}, {0x203C, 0x203C}, {0x2049, 0x2049},
	{0x2122, 0x2122}, {0x2139, 0x2139}, {0x2194, 0x2199}, {0x21A9, 0x21AA},
	{0x231A, 0x231B}, {0x2328, 0x2328}, {0x2388, 0x2388}, {0x23CF, 0x23CF},
	{0x23E9, 0x23F3}, {0x23F8, 0x23FA}, {0x24C2, 0x24C2}, {0x25AA, 0x25AB},
	{0x25B6, 0x25B6}, {0x25C0, 0x25C0}, {0x25FB, 0x25FE}, {0x2600, 0x2605},
	{0x2607, 0x2612}, {0x2614, 0x2685}, {0x2690, 0x2705}, {0x2708, 0x2712},
	{0x2714, 0x2714}, {0x2716, 0x2716}, {0x271D, 0x271D}, {0x2721, 0x2721},
	{0x2728, 0x2728}, {0x2733, 0x2734}, {0x2744, 0x2744}, {0x2747, 0x2747},
	{0x274C, 0x274C}, {0x274E, 0x274E}, {0x2753, 0x2755}, {0x2757, 0x2757},
	{0x2763, 0x2767}, {0x2795, 0x2797}, {0x27A1, 0x27A1}, {0x27B0, 0x27B0},
	{0x27BF, 0x27BF}, {0x2934, 0x2935}, {0x2B05, 0x2B07}, {0x2B1B, 0x2B1C},
	{0x2B50, 0x2B50}, {0x2B55, 0x2B55}, {0x3030, 0x3030}, {0x303D, 0x303D},
	{0x3297, 0x3297}, {0x3299, 0x3299},
	{0x1F000, 0x1F0FF}, {0x1F10D, 0x1F10F}, {0x1F12F, 0x1F12F}, {0x1F16C, 0x1F171},
	{0x1F17E, 0x1F17F}, {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A}, {0x1F1AD, 0x1F1E5},
	{0x1F201, 0x1F20F}, {0x1F21A, 0x1F21A}, {0x1F22F, 0x1F22F}, {0x1F232, 0x1F23A},
	{0x1F23C, 0x1F23F}, {0x1F249, 0x1F3FA}, {0x1F400, 0x1F53D}, {0x1F546, 0x1F64F},
	{0x1F680, 0x1F6FF}, {0x1F774, 0x1F77F}, {0x1F7D5, 0x1F7FF}, {0x1F80C, 0x1F80F},
	{0x1F848, 0x1F84F}, {0x1F85A, 0x1F85F}, {0x1F888, 0x1F88F}, {0x1F8AE, 0x1F8FF},
	{0x1F90C, 0x1F93A}, {0x1F93C, 0x1F945}, {0x1F947, 0x1FAFF}, {0x1FC00, 0x1FFFD},
}

// emojiPresentationBMP lists the Basic Multilingual Plane code points with
// Emoji_Presentation=Yes: they show as emoji without a variation selector.
var emojiPresentationBMP = []runeRange{
	{0x231A, 0x231B}, {0x23E9, 0x23EC}, {0x23F0, 0x23F0}, {0x23F3, 0x23F3},
	{0x25FD, 0x25FE}, {0x2614, 0x2615}, {0x2648, 0x2653}, {0x267F, 0x267F},
	{0x2693, 0x2693}, {0x26A1, 0x26A1}, {0x26AA, 0x26AB}, {0x26BD, 0x26BE},
	{0x26C4, 0x26C5}, {0x26CE, 0x26CE}, {0x26D4, 0x26D4}, {0x26EA, 0x26EA},
	{0x26F2, 0x26F3}, {0x26F5, 0x26F5}, {0x26FA, 0x26FA}, {0x26FD, 0x26FD},
	{0x2705, 0x2705}, {0x270A, 0x270B}, {0x2728, 0x2728}, {0x274C, 0x274C},
	{0x274E, 0x274E}, {0x2753, 0x2755}, {0x2757, 0x2757}, {0x2795, 0x2797},
	{0x27B0, 0x27B0}, {0x27BF, 0x27BF}, {0x2B1B, 0x2B1C}, {0x2B50, 0x2B50},
	{0x2B55, 0x2B55},
}

func inRanges(t []runeRange, r rune) bool {
	lo, hi := 0, len(t)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		switch {
		case r < t[mid].lo:
			hi = mid
		case r > t[mid].hi:
			lo = mid + 1
		default:
			return true
		}
	}
	return false
}

func isPictographic(r rune) bool { return r >= 0xA9 && inRanges(pictographic, r) }

func isRegional(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }

func isSkinTone(r rune) bool { return r >= 0x1F3FB && r <= 0x1F3FF }

func isTag(r rune) bool { return r >= 0xE0020 && r <= 0xE007E }

const (
	zwj         = 0x200D
	vs15        = 0xFE0E // text presentation selector
	vs16        = 0xFE0F // emoji presentation selector
	cancelTag   = 0xE007F
	keycapMark  = 0x20E3
	vs16UTF8    = "\uFE0F"
	keycapUTF8  = "\u20E3"
	fullHash    = '＃'
	fullAt      = '＠'
	replacement = utf8.RuneError
)

// emojiByDefault reports whether a pictographic code point reads as an emoji
// even without a variation selector. That is every Emoji_Presentation code
// point, everything in the supplementary planes, and the Miscellaneous
// Symbols and Dingbats blocks (❤ ☺ ✌ ✔ ☀ are written without U+FE0F all the
// time and meant as emoji). © ® ™ ‼ arrows and geometric shapes count only
// when followed by U+FE0F or joined into a sequence.
func emojiByDefault(r rune) bool {
	return r >= 0x10000 || (r >= 0x2600 && r <= 0x27BF) || inRanges(emojiPresentationBMP, r)
}

// scanEmoji reads one emoji sequence starting with r (size bytes) at s[i]:
// a regional-indicator pair (flag), or a pictograph with its variation
// selector, skin tone, tag sequence (subdivision flags) and any further
// pictographs joined by ZWJ. It returns the end of the sequence, whether it
// is an emoji, and whether it contains variation selectors to drop.
func scanEmoji(s string, i int, r rune, size int) (end int, ok, hasVS bool) {
	j := i + size
	if isRegional(r) {
		r2, n2 := utf8.DecodeRuneInString(s[j:])
		if isRegional(r2) {
			return j + n2, true, false
		}
		return j, false, false
	}
	ok = emojiByDefault(r)
	for {
		// Modifiers of the current element.
	mods:
		for j < len(s) {
			m, n := utf8.DecodeRuneInString(s[j:])
			switch {
			case m == vs16:
				ok, hasVS = true, true
			case m == vs15:
				hasVS = true
			case isSkinTone(m):
				ok = true
			case isTag(m):
				// Tag sequence: England, Scotland, Wales flags.
			case m == cancelTag:
				ok = true
			case m == keycapMark:
				ok = true
			default:
				break mods
			}
			j += n
		}
		// ZWJ followed by another pictograph continues the sequence.
		if j+3 < len(s) && s[j] == 0xE2 && s[j+1] == 0x80 && s[j+2] == 0x8D {
			r2, n2 := utf8.DecodeRuneInString(s[j+3:])
			if isPictographic(r2) {
				ok = true
				j += 3 + n2
				continue
			}
		}
		return j, ok, hasVS
	}
}

// keycapAt reports the end of a keycap emoji ("1️⃣", "#️⃣") whose base is s[i].
func keycapAt(s string, i int) (int, bool) {
	j := i + 1
	if strings.HasPrefix(s[j:], vs16UTF8) {
		j += len(vs16UTF8)
	}
	if strings.HasPrefix(s[j:], keycapUTF8) {
		return j + len(keycapUTF8), true
	}
	return 0, false
}

// stripVS removes variation selectors U+FE0E and U+FE0F, so "❤️" and "❤"
// count as one emoji.
func stripVS(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r != vs15 && r != vs16 {
			b.WriteRune(r)
		}
	}
	return b.String()
}
