package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// The end-to-end benchmark's workload: a seeded, realistic mention stream.
//
//   - 60% tweet-length posts (about 80–280 bytes) on twitter, mastodon and
//     reddit, 40% article-length items (about 1 KB of text plus a title) on
//     rss, hackernews and reddit;
//   - seven languages (en, es, fr, de, pt, it, nl), English most common;
//   - emoji, links with tracking parameters, @handles and cashtags;
//   - hashtags and authors drawn from Zipf distributions;
//   - every few thousand mentions a surge: hundreds of reposts and
//     near-copies of one story with its hashtag, as when something trends.
//
// Brand names come from the generated topic rules, so topic matching,
// respond and dedup do the work they do on real traffic.

// loadSentences are short sentences per language; {b} is a brand name.
var loadSentences = map[string][]string{
	"en": {
		"I just got the new {b} and honestly it is the best thing I bought this year",
		"{b} support has not answered my ticket for three weeks, this is unacceptable",
		"Does anyone know if {b} ships to Canada? The website does not say",
		"The {b} update broke everything on my phone, the app crashes every time I open it",
		"Quarterly results are out and {b} beat the estimates by a wide margin",
		"We compared five products and {b} came out on top for price and battery life",
		"Nothing special today, a walk in the park and coffee with friends",
		"Reports say {b} is recalling thousands of units after complaints about overheating",
		"Why is the {b} refund process so slow? I returned the item a month ago",
		"Great service from the {b} team, they replaced my broken charger in two days",
		"Analysts expect the launch to push prices down across the whole market",
		"The new store opened downtown and the queue went around the block",
	},
	"es": {
		"Acabo de recibir mi pedido de {b} y la verdad es que estoy encantado",
		"El servicio de atención de {b} no contesta desde hace una semana, qué vergüenza",
		"¿Alguien sabe si {b} hace envíos a Canarias? No encuentro la información",
		"La nueva versión de la aplicación de {b} no funciona en mi teléfono",
		"Los resultados del trimestre muestran que las ventas crecieron mucho",
	},
	"fr": {
		"Je viens de recevoir ma commande {b} et je suis très content du produit",
		"Le service client de {b} ne répond pas depuis dix jours, c'est inadmissible",
		"Quelqu'un sait si {b} livre en Belgique ? Le site ne le dit pas",
		"La mise à jour de {b} a tout cassé sur mon téléphone, quelle déception",
		"Les résultats trimestriels sont meilleurs que prévu selon les analystes",
	},
	"de": {
		"Die neue App von {b} ist eine Katastrophe, das Update hat alles gelöscht",
		"Ich habe gestern bei {b} bestellt und das Paket ist schon angekommen",
		"Weiß jemand, ob {b} auch nach Österreich liefert? Die Seite sagt nichts",
		"Der Kundenservice von {b} war wirklich freundlich und schnell",
		"Die Quartalszahlen sind besser als erwartet ausgefallen",
	},
	"pt": {
		"Comprei o novo produto da {b} e estou muito satisfeito com a qualidade",
		"O atendimento da {b} não responde há duas semanas, que absurdo",
		"Alguém sabe se a {b} entrega em Portugal? O site não informa",
		"A atualização do aplicativo deixou tudo mais lento no meu celular",
	},
	"it": {
		"Ho appena ricevuto il mio ordine {b} e sono davvero contento",
		"Il servizio clienti di {b} non risponde da una settimana, vergognoso",
		"Qualcuno sa se {b} spedisce in Svizzera? Il sito non lo dice",
		"L'aggiornamento dell'app ha cancellato tutte le mie impostazioni",
	},
	"nl": {
		"Ik heb net mijn bestelling van {b} ontvangen en ik ben erg tevreden",
		"De klantenservice van {b} reageert al een week niet, echt slecht",
		"Weet iemand of {b} ook naar België verzendt? De site zegt het niet",
		"De nieuwe versie van de app werkt niet goed op mijn telefoon",
	},
}

var (
	loadLangs      = []string{"en", "en", "en", "en", "es", "fr", "de", "pt", "it", "nl"}
	loadEmoji      = []string{"😡", "😍", "🚀", "🔥", "👍", "😂", "🙏", "💔", "🇫🇷", "👩‍💻", "❤️", "🤔"}
	loadDomains    = []string{"news.example.com", "www.blog.example.org", "shop.example.net", "forum.example.io", "t.example.co"}
	loadTagWords   = strings.Fields("deal outage launch review unboxing help recall fail love travel music tech news sale")
	shortPlatforms = []string{"twitter", "twitter", "mastodon", "reddit"}
	longPlatforms  = []string{"rss", "rss", "hackernews", "reddit"}
)

// benchWorkload generates n mentions from seed. brands are the names the
// topic rules listen for. IDs are left empty: each round names its copies.
func benchWorkload(seed uint64, n int, brands []string) []*pipeline.Mention {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	tagZipf := rand.NewZipf(r, 1.2, 4, 499)
	authorZipf := rand.NewZipf(r, 1.1, 2, 49999)
	brandZipf := rand.NewZipf(r, 1.3, 3, uint64(len(brands)-1))
	tags := make([]string, 500)
	for i := range tags {
		switch {
		case i < len(brands) && i%3 == 0:
			tags[i] = brands[i]
		default:
			tags[i] = loadTagWords[i%len(loadTagWords)] + fmt.Sprint(i)
		}
	}
	sentence := func(lang, brand string) string {
		ss := loadSentences[lang]
		return strings.ReplaceAll(ss[r.IntN(len(ss))], "{b}", brand)
	}
	link := func() string {
		return fmt.Sprintf("https://%s/%s/%d?utm_source=social&utm_medium=post&ref=%d",
			loadDomains[r.IntN(len(loadDomains))], loadTagWords[r.IntN(len(loadTagWords))], r.IntN(1e6), r.IntN(100))
	}
	var (
		out        = make([]*pipeline.Mention, n)
		surgeLeft  int
		surgeStory string
	)
	for i := range out {
		lang := loadLangs[r.IntN(len(loadLangs))]
		brand := brands[brandZipf.Uint64()]
		m := &pipeline.Mention{
			Source: "bench",
			Kind:   pipeline.KindPost,
			Author: pipeline.Author{Handle: fmt.Sprintf("user%d", authorZipf.Uint64()), Followers: int64(r.IntN(100000))},
			Engagement: pipeline.Engagement{Likes: int64(r.IntN(500)), Reposts: int64(r.IntN(50)),
				Replies: int64(r.IntN(20))},
		}
		if surgeLeft == 0 && r.IntN(5000) == 0 {
			surgeLeft = 200 + r.IntN(400)
			surgeStory = fmt.Sprintf("Breaking: %s confirms a data leak affecting customers, details here %s #%sleak",
				brand, link(), brand)
		}
		var b strings.Builder
		switch {
		case surgeLeft > 0:
			surgeLeft--
			m.Platform = shortPlatforms[r.IntN(len(shortPlatforms))]
			lang = "en"
			if r.IntN(2) == 0 {
				m.Kind = pipeline.KindRepost
				fmt.Fprintf(&b, "RT @newsdesk: %s", surgeStory)
			} else {
				fmt.Fprintf(&b, "%s %s", surgeStory, loadEmoji[r.IntN(len(loadEmoji))])
			}
		case r.IntN(10) < 6: // tweet-length
			m.Platform = shortPlatforms[r.IntN(len(shortPlatforms))]
			if r.IntN(6) == 0 {
				fmt.Fprintf(&b, "@%s ", brand)
				m.Kind = pipeline.KindReply
			}
			b.WriteString(sentence(lang, brand))
			if r.IntN(3) == 0 {
				b.WriteString(". " + sentence(lang, brands[brandZipf.Uint64()]))
			}
			for range r.IntN(3) {
				b.WriteString(" " + loadEmoji[r.IntN(len(loadEmoji))])
			}
			if r.IntN(3) == 0 {
				b.WriteString(" " + link())
			}
			for range r.IntN(4) {
				b.WriteString(" #" + tags[tagZipf.Uint64()])
			}
			if r.IntN(20) == 0 {
				fmt.Fprintf(&b, " $%s", strings.ToUpper(brand[:min(4, len(brand))]))
			}
		default: // article-length
			m.Platform = longPlatforms[r.IntN(len(longPlatforms))]
			m.Kind = pipeline.KindArticle
			m.Title = sentence(lang, brand)
			m.URL = link()
			for b.Len() < 900+r.IntN(250) {
				b.WriteString(sentence(lang, brands[brandZipf.Uint64()]))
				b.WriteString(". ")
				if r.IntN(8) == 0 {
					b.WriteString(link() + " ")
				}
				if r.IntN(10) == 0 {
					b.WriteString(loadEmoji[r.IntN(len(loadEmoji))] + " ")
				}
			}
			for range r.IntN(3) {
				b.WriteString("#" + tags[tagZipf.Uint64()] + " ")
			}
		}
		m.Text = strings.TrimSpace(b.String())
		if r.IntN(3) == 0 {
			m.Lang = lang // some platforms declare a language
		}
		out[i] = m
	}
	return out
}

// brandNames extracts the first plain word of each topic rule: the names
// the rules listen for.
func brandNames(topics []pipeline.Topic) []string {
	var out []string
	for _, t := range topics {
		f := strings.Fields(strings.Trim(t.Query, `"#@$(`))
		if len(f) == 0 {
			continue
		}
		w := strings.TrimRight(strings.Trim(f[0], `"#@$()`), "*")
		if len(w) >= 3 {
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		out = []string{"acme"}
	}
	return out
}

// roundCopies returns copies of the workload named for one round: ids are
// prefix + a zero-padded sequence number (so they sort in publish order),
// times are set at publish.
func roundCopies(w []*pipeline.Mention, prefix string) []*pipeline.Mention {
	out := make([]*pipeline.Mention, len(w))
	now := time.Now().UTC()
	for i, m := range w {
		c := *m
		c.ID = benchID(prefix, i)
		c.CreatedAt = now
		c.CollectedAt = now
		out[i] = &c
	}
	return out
}

func benchID(prefix string, seq int) string { return fmt.Sprintf("%s:%09d", prefix, seq) }
