// Command validate-manifests builds Kustomize directories and checks every object they
// produce against the Kubernetes API types (and the Prometheus Operator's), strictly,
// as an API server with strict field validation would: an unknown, misspelled or
// duplicated field, a value of the wrong type, an unparsable quantity, an invalid name
// or label, or a kind outside the allowed API groups fails. No cluster is needed.
//
//	validate-manifests [-root DIR] [-print] TARGET...
//
// A TARGET is a directory with a kustomization.yaml, built from an in-memory copy of
// -root (so that ../ references resolve), or a YAML file, checked as it is. -print
// writes the objects that passed to stdout, as YAML, instead of the summary.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	root := flag.String("root", ".", "the tree the kustomizations are built from (copied into memory)")
	printYAML := flag.Bool("print", false, "write the objects that passed to stdout as YAML")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: validate-manifests [-root DIR] KUSTOMIZATION_DIR|FILE.yaml...")
		os.Exit(2)
	}
	checker, err := NewChecker()
	if err != nil {
		fmt.Fprintln(os.Stderr, "validate-manifests:", err)
		os.Exit(2)
	}
	failed := false
	for _, target := range flag.Args() {
		if !validateTarget(checker, *root, target, *printYAML) {
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// validateTarget prints one line per failing object and a summary (or the objects); false
// on any failure.
func validateTarget(checker *Checker, root, target string, printYAML bool) bool {
	loaded, err := Load(root, target)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL %s: %v\n", target, err)
		return false
	}
	if !printYAML {
		reportStandIns(target, loaded.StandIns)
	}
	ok := true
	kinds := map[string]int{}
	for _, doc := range loaded.Documents {
		object, err := checker.Check(doc.YAML)
		if err != nil {
			fmt.Fprintf(os.Stderr, "FAIL %s: %v\n", doc.Origin, err)
			ok = false
			continue
		}
		kinds[object.GetObjectKind().GroupVersionKind().Kind]++
		if printYAML {
			fmt.Printf("---\n%s", doc.YAML)
		}
	}
	if ok && !printYAML {
		fmt.Printf("ok   %s: %d objects (%s)\n", target, len(loaded.Documents), summary(kinds))
	}
	return ok
}

// reportStandIns names the example files a build of target used, those under target.
func reportStandIns(target string, standIns []string) {
	absTarget, err := filepath.Abs(target)
	if err != nil {
		return
	}
	for _, standIn := range standIns {
		if strings.HasPrefix(standIn, absTarget+string(filepath.Separator)) {
			fmt.Printf("     %s: built with %s in place of its git-ignored twin\n", target, relative(standIn))
		}
	}
}

func summary(kinds map[string]int) string {
	parts := make([]string, 0, len(kinds))
	for kind, count := range kinds {
		parts = append(parts, fmt.Sprintf("%d %s", count, kind))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func relative(path string) string {
	wd, err := os.Getwd()
	if err != nil {
		return path
	}
	if rel, err := filepath.Rel(wd, path); err == nil {
		return rel
	}
	return path
}
