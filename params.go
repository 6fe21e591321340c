package a2agrpc

import (
	"slices"
	"strings"
)

// SplitList splits a comma-separated header value (possibly given as several
// header lines or metadata values) into trimmed, non-empty, de-duplicated items.
func SplitList(values ...string) []string {
	var out []string
	for _, v := range values {
		for item := range strings.SplitSeq(v, ",") {
			if item = strings.TrimSpace(item); item != "" && !slices.Contains(out, item) {
				out = append(out, item)
			}
		}
	}
	return out
}
