package main

// seedWords are common, unambiguous sentiment words of the seven languages
// besides English, written for earshot (no lexicon of these languages is in
// the training data): each is a one-word training example in its language,
// as the VADER lexicon's words are for English, so that a short post such as
// "الخدمة ممتازة شكرا" or "… ist eine Katastrophe" gets the polarity of its
// one sentiment word even when the 1,800 tweets of its language rarely show
// it. Hindi is romanised, as the training tweets are, with a few Devanagari
// spellings. Each language has positive words first, then negative.
var seedWords = map[string]struct{ pos, neg []string }{
	"de": {
		pos: []string{"gut", "super", "toll", "klasse", "prima", "danke", "großartig", "hervorragend", "ausgezeichnet",
			"liebe", "perfekt", "genial", "schön", "zufrieden", "empfehlenswert", "begeistert", "wunderbar", "spitze"},
		neg: []string{"schlecht", "katastrophe", "katastrophal", "schrecklich", "furchtbar", "mies", "enttäuscht",
			"enttäuschend", "ärgerlich", "nervig", "kaputt", "defekt", "hasse", "müll", "schlimm", "frechheit",
			"unverschämt", "versagt"},
	},
	"fr": {
		pos: []string{"merci", "super", "génial", "excellent", "parfait", "bravo", "adore", "magnifique", "formidable",
			"content", "ravi", "satisfait", "merveilleux", "top"},
		neg: []string{"nul", "nulle", "horrible", "déçu", "déçue", "décevant", "catastrophe", "honte", "arnaque", "pire",
			"mauvais", "mauvaise", "panne", "inadmissible", "scandale", "déteste", "cassé"},
	},
	"es": {
		pos: []string{"gracias", "genial", "excelente", "perfecto", "encanta", "bueno", "buena", "maravilloso",
			"increíble", "feliz", "contento", "recomiendo", "bravo", "fantástico"},
		neg: []string{"malo", "mala", "pésimo", "pésima", "horrible", "terrible", "decepción", "decepcionado", "odio",
			"peor", "fatal", "basura", "vergüenza", "estafa", "roto", "asco", "desastre"},
	},
	"it": {
		pos: []string{"grazie", "bello", "bella", "ottimo", "ottima", "perfetto", "fantastico", "bravo", "bravi", "adoro",
			"felice", "contento", "splendido", "eccellente", "meraviglioso"},
		neg: []string{"pessimo", "pessima", "schifo", "orribile", "terribile", "deluso", "delusione", "vergogna",
			"peggio", "peggiore", "odio", "truffa", "rotto", "disastro", "brutto", "brutta"},
	},
	"pt": {
		pos: []string{"obrigado", "obrigada", "ótimo", "ótima", "excelente", "perfeito", "adoro", "amo", "maravilhoso",
			"incrível", "feliz", "parabéns", "recomendo", "lindo", "bom", "boa"},
		neg: []string{"péssimo", "péssima", "horrível", "terrível", "ruim", "decepcionado", "decepção", "odeio", "lixo",
			"vergonha", "pior", "golpe", "quebrado", "droga", "desastre"},
	},
	"ar": {
		pos: []string{"ممتاز", "ممتازة", "شكرا", "رائع", "رائعة", "جميل", "جميلة", "احب", "أحب", "سعيد", "جيد", "جيدة",
			"ممتع", "مبروك"},
		neg: []string{"سيء", "سيئة", "سيئ", "فاشل", "فاشلة", "زفت", "كارثة", "اسوأ", "أسوأ", "حزين", "خيبة", "مزعج",
			"غبي"},
	},
	"hi": {
		pos: []string{"accha", "achha", "acha", "badhiya", "badiya", "mast", "shukriya", "dhanyavad", "sundar", "khush",
			"pyaar", "pyar", "zabardast", "shandaar", "kamaal", "behtareen", "अच्छा", "बढ़िया", "धन्यवाद", "शानदार"},
		neg: []string{"bekar", "bekaar", "bakwas", "bura", "buri", "ganda", "gandi", "ghatiya", "pareshan", "dukh",
			"nafrat", "kharab", "bewakoof", "बेकार", "बकवास", "बुरा", "घटिया", "खराब"},
	},
}
