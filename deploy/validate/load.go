package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// exampleSuffix marks the committed twin of a git-ignored file (a Secret's values).
const exampleSuffix = ".example"

// Document is one object, in YAML, and where it came from.
type Document struct {
	Origin string
	YAML   []byte
}

// Loaded is what a target yields: its objects, and the files whose .example twin was
// used because they are absent (the git-ignored secrets of an overlay).
type Loaded struct {
	Documents []Document
	StandIns  []string
}

// Load builds target when it is a kustomization directory, or reads it as YAML.
func Load(root, target string) (Loaded, error) {
	info, err := os.Stat(target)
	if err != nil {
		return Loaded{}, err
	}
	if info.IsDir() {
		return build(root, target)
	}
	docs, err := readYAMLFile(target)
	return Loaded{Documents: docs}, err
}

func build(root, dir string) (Loaded, error) {
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return Loaded{}, err
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return Loaded{}, err
	}
	if !strings.HasPrefix(absDir+string(filepath.Separator), absRoot+string(filepath.Separator)) {
		return Loaded{}, fmt.Errorf("%s is outside -root %s", dir, root)
	}
	memory, standIns, err := memoryTree(absRoot)
	if err != nil {
		return Loaded{}, err
	}
	resources, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(memory, absDir)
	if err != nil {
		return Loaded{}, fmt.Errorf("kustomize build: %w", err)
	}
	loaded := Loaded{StandIns: standIns}
	for _, resource := range resources.Resources() {
		text, err := resource.AsYAML()
		if err != nil {
			return Loaded{}, err
		}
		origin := fmt.Sprintf("%s: %s", dir, resource.CurId())
		loaded.Documents = append(loaded.Documents, Document{Origin: origin, YAML: text})
	}
	return loaded, nil
}

// memoryTree copies root into an in-memory file system, at the same absolute paths, so
// the build never sees anything outside it. A file NAME that is absent while
// NAME.example exists is given the example's content: an overlay's secrets are
// git-ignored, and the build must be checked without them.
func memoryTree(root string) (filesys.FileSystem, []string, error) {
	memory := filesys.MakeFsInMemory()
	var standIns []string
	err := filepath.WalkDir(root, func(path string, entry fs.DirEntry, err error) error {
		if err != nil || !entry.Type().IsRegular() {
			return err
		}
		content, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if err := memory.WriteFile(path, content); err != nil {
			return err
		}
		twin, isExample := strings.CutSuffix(path, exampleSuffix)
		if !isExample {
			return nil
		}
		if _, err := os.Stat(twin); errors.Is(err, fs.ErrNotExist) {
			standIns = append(standIns, path)
			return memory.WriteFile(twin, content)
		}
		return nil
	})
	return memory, standIns, err
}

// readYAMLFile splits a file into its documents, leaving out empty ones.
func readYAMLFile(path string) ([]Document, error) {
	content, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(content)))
	var docs []Document
	for index := 1; ; index++ {
		text, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if asJSON, err := yaml.YAMLToJSON(text); err == nil && string(asJSON) == "null" {
			continue // only comments or blank lines
		}
		docs = append(docs, Document{Origin: fmt.Sprintf("%s#%d", path, index), YAML: text})
	}
}
