package twitter

import "strings"

// unescapeText decodes post text as X's APIs (v2 and v1.1) send it: they
// escape &, < and > as &amp;, &lt; and &gt;, and nothing else. One pass,
// so each escape is decoded exactly once: a post that says "&amp;" arrives
// as "&amp;amp;" and is stored as "&amp;".
var unescapeText = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">").Replace
