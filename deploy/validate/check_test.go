package main

import (
	"strings"
	"testing"
)

func newChecker(t *testing.T) *Checker {
	t.Helper()
	checker, err := NewChecker()
	if err != nil {
		t.Fatal(err)
	}
	return checker
}

// checkTarget loads a fixture and returns the first error, from the build or a check.
func checkTarget(t *testing.T, checker *Checker, target string) error {
	t.Helper()
	loaded, err := Load("testdata", target)
	if err != nil {
		return err
	}
	if len(loaded.Documents) == 0 {
		t.Fatalf("%s holds no object", target)
	}
	for _, doc := range loaded.Documents {
		if _, err := checker.Check(doc.YAML); err != nil {
			return err
		}
	}
	return nil
}

func TestValidManifestsPass(t *testing.T) {
	if err := checkTarget(t, newChecker(t), "testdata/valid.yaml"); err != nil {
		t.Fatalf("valid.yaml refused: %v", err)
	}
}

// Each fixture is valid.yaml with one mistake; the error must name it.
func TestMistakesAreRefused(t *testing.T) {
	cases := map[string]string{
		"testdata/misspelled-field.yaml": `unknown field "spec.template.spec.containers[0].livenesProbe"`,
		"testdata/wrong-case-field.yaml": `unknown field "spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem"`,
		"testdata/duplicate-field.yaml":  `key "image" already set`,
		"testdata/unknown-kind.yaml":     `no kind "Deplyment" is registered`,
		"testdata/removed-version.yaml":  `for version "apps/v1beta2"`,
		"testdata/wrong-type.yaml":       `spec.replicas of type int32`,
		"testdata/bad-quantity.yaml":     `quantities must match`,
		"testdata/bad-name.yaml":         `metadata.name: Invalid value: "Demo_API"`,
		// A patch's typo passes through kustomize and is caught on the built object.
		"testdata/misspelled-patch": `unknown field "spec.template.spec.terminationGracePeriodSecond"`,
	}
	checker := newChecker(t)
	for target, expected := range cases {
		t.Run(target, func(t *testing.T) {
			err := checkTarget(t, checker, target)
			if err == nil {
				t.Fatalf("%s passed; expected an error containing %q", target, expected)
			}
			if !strings.Contains(err.Error(), expected) {
				t.Fatalf("%s: error %q does not contain %q", target, err, expected)
			}
		})
	}
}

func TestBuildStopsOutsideRoot(t *testing.T) {
	if _, err := Load("testdata/misspelled-patch", "../kustomize/base"); err == nil {
		t.Fatal("a kustomization outside -root was built")
	}
}
