package cluster

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/veiligcontact/veilig/config"
)

// TestComposeFileConsistent checks what of deploy/compose/compose.yaml no
// test can run here (containers cannot): its images are the ones
// build-images.sh tags, every file it mounts is in the directory (or made
// by the README's steps), the replicas read the configuration it mounts,
// their health check asks veilig health on the port veilig.yaml listens
// on, and veilig.env.example sets only settings veilig knows.
func TestComposeFileConsistent(t *testing.T) {
	const dir = "../../deploy/compose"
	raw, err := os.ReadFile(filepath.Join(dir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Image       string
			Command     []string
			EnvFile     string `yaml:"env_file"`
			Volumes     []string
			Healthcheck struct{ Test []string }
		}
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatal(err)
	}
	build, err := os.ReadFile(filepath.Join(dir, "build-images.sh"))
	if err != nil {
		t.Fatal(err)
	}
	made := map[string]bool{"veilig.env": true, "postgres_password.txt": true, "schemes": true} // README steps 1-2
	replicas := 0
	for name, svc := range compose.Services {
		if strings.HasPrefix(svc.Image, "localhost/") && !strings.Contains(string(build), "-t "+svc.Image) {
			t.Errorf("%s: image %s is not one build-images.sh tags", name, svc.Image)
		}
		mounts := map[string]string{}
		for _, v := range svc.Volumes {
			parts := strings.Split(v, ":")
			if !strings.HasPrefix(parts[0], "./") {
				continue // a named volume
			}
			file := strings.TrimPrefix(parts[0], "./")
			mounts[parts[1]] = file
			if _, err := os.Stat(filepath.Join(dir, file)); err != nil && !made[file] {
				t.Errorf("%s mounts %s, which is not in deploy/compose", name, file)
			}
		}
		if svc.Image != "localhost/veilig:latest" {
			continue
		}
		replicas++
		i := slices.Index(svc.Command, "-config")
		if i < 0 || i+1 >= len(svc.Command) || mounts[svc.Command[i+1]] != "veilig.yaml" {
			t.Errorf("%s: command %v does not read the mounted veilig.yaml", name, svc.Command)
		}
		port := regexp.MustCompile(`(?m)^  listen: 0\.0\.0\.0:(\d+)`).FindSubmatch(mustRead(t, filepath.Join(dir, "veilig.yaml")))
		if port == nil || !slices.Equal(svc.Healthcheck.Test, []string{"CMD", "/veilig", "health", "-url", "http://127.0.0.1:" + string(port[1]) + "/readyz"}) {
			t.Errorf("%s: health check %v does not ask veilig health on the public listener", name, svc.Healthcheck.Test)
		}
		if svc.EnvFile != "veilig.env" {
			t.Errorf("%s: env_file %q", name, svc.EnvFile)
		}
	}
	if replicas != 3 {
		t.Errorf("%d replicas, the docs say three", replicas)
	}
	// The env example's variables are settings veilig knows.
	for _, line := range strings.Split(string(mustRead(t, filepath.Join(dir, "veilig.env.example"))), "\n") {
		k, _, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if _, err := config.Load("", []string{k + "=x"}); err != nil && strings.Contains(err.Error(), k+": no such setting") {
			t.Errorf("veilig.env.example sets %s, which is no setting", k)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
