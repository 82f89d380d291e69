package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The deploy files are for users: no Docker engine runs here, so these tests
// check what can be checked: every earshot config in them parses and
// validates, and every command they run exists.

func repoFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDeployConfigsValidate(t *testing.T) {
	for _, f := range []string{"deploy/earshot.yaml", "deploy/demo.yaml", "deploy/compose/earshot.yaml"} {
		if _, err := ParseConfig(f, repoFile(t, f)); err != nil {
			t.Errorf("ParseConfig(%q) = %v", f, err)
		}
	}
}

func TestKubernetesManifests(t *testing.T) {
	dec := yaml.NewDecoder(strings.NewReader(string(repoFile(t, "deploy/kubernetes/earshot.yaml"))))
	kinds := map[string]int{}
	for {
		var doc struct {
			Kind string            `yaml:"kind"`
			Data map[string]string `yaml:"data"`
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Args []string `yaml:"args"`
						} `yaml:"containers"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		if err := dec.Decode(&doc); err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("kubernetes manifest: %v", err)
		}
		kinds[doc.Kind]++
		if doc.Kind == "ConfigMap" {
			if _, err := ParseConfig("configmap earshot.yaml", []byte(doc.Data["earshot.yaml"])); err != nil {
				t.Errorf("ConfigMap config: %v", err)
			}
		}
		for _, c := range doc.Spec.Template.Spec.Containers {
			if _, ok := commands[c.Args[0]]; !ok {
				t.Errorf("%s runs unknown command %q", doc.Kind, c.Args[0])
			}
		}
	}
	if kinds["Deployment"] < 3 || kinds["ConfigMap"] != 1 || kinds["Job"] != 1 {
		t.Errorf("manifest kinds = %v; want a ConfigMap, a migrate Job and a Deployment per role", kinds)
	}
}

func TestComposeFile(t *testing.T) {
	var doc struct {
		Services map[string]struct {
			Command []string `yaml:"command"`
			Image   string   `yaml:"image"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(repoFile(t, "deploy/compose/docker-compose.yml"), &doc); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	roles := 0
	for name, s := range doc.Services {
		if s.Image != "earshot:latest" {
			continue
		}
		roles++
		if len(s.Command) == 0 {
			t.Errorf("service %s has no command", name)
			continue
		}
		if _, ok := commands[s.Command[0]]; !ok {
			t.Errorf("service %s runs unknown command %q", name, s.Command[0])
		}
	}
	if roles < 4 {
		t.Errorf("compose runs %d earshot services; want migrate, connect, enrich and sink at least", roles)
	}
}
