package workflow

import (
	"slices"
	"strconv"
	"strings"
)

// findCycles returns the dependency cycles of deps (step index → indexes
// it depends on), each as the path of indexes around it, starting and
// ending at the step listed first in the definition. Each cycle is
// reported once.
func findCycles(deps [][]int) [][]int {
	const (
		unvisited = iota
		onPath
		done
	)
	state := make([]int, len(deps))
	var path []int
	var cycles [][]int
	seen := map[string]bool{}
	var visit func(n int)
	visit = func(n int) {
		state[n] = onPath
		path = append(path, n)
		for _, d := range deps[n] {
			switch state[d] {
			case unvisited:
				visit(d)
			case onPath:
				at := slices.Index(path, d)
				c := rotateToMin(slices.Clone(path[at:]))
				if key := cycleKey(c); !seen[key] {
					seen[key] = true
					cycles = append(cycles, append(c, c[0]))
				}
			}
		}
		path = path[:len(path)-1]
		state[n] = done
	}
	for n := range deps {
		if state[n] == unvisited {
			visit(n)
		}
	}
	return cycles
}

// rotateToMin rotates a cycle so that it starts at its smallest index:
// the same cycle found from different places then reads the same.
func rotateToMin(c []int) []int {
	m := slices.Index(c, slices.Min(c))
	return append(c[m:], c[:m]...)
}

func cycleKey(c []int) string {
	var b strings.Builder
	for _, n := range c {
		b.WriteString(strconv.Itoa(n) + ",")
	}
	return b.String()
}

// ancestors returns, for an acyclic graph, the set of steps each step
// depends on directly or transitively.
func ancestors(deps [][]int) []map[int]bool {
	out := make([]map[int]bool, len(deps))
	var visit func(n int) map[int]bool
	visit = func(n int) map[int]bool {
		if out[n] != nil {
			return out[n]
		}
		set := map[int]bool{}
		out[n] = set
		for _, d := range deps[n] {
			set[d] = true
			for a := range visit(d) {
				set[a] = true
			}
		}
		return set
	}
	for n := range deps {
		visit(n)
	}
	return out
}

// closest returns the candidate nearest to s by edit distance when it is
// near enough to be a likely typo (a third of s's length at most), else "".
func closest(s string, candidates []string) string {
	best, bestDist := "", len(s)/3+1
	for _, c := range candidates {
		if d := editDistance(s, c); d > 0 && d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
