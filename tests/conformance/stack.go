package conformance

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Stack is the test stack described by tests/stack/stack.sh's env file
// (.stack/env) and the datasource settings it writes beside its data.
type Stack struct {
	Dir             string
	PromEastURL     string
	PromWestURL     string
	PromEdgeURL     string
	DeadURL         string
	HungURL         string
	AlertmanagerURL string
	RedisURL        string
	DataStart       time.Time
	DataEnd         time.Time
	Step            time.Duration

	// Settings is $FLEETSCOPE_STACK_DIR/settings.json.
	Settings Settings
}

// Settings is a datasource's configuration as Grafana stores it.
type Settings struct {
	JSONData       json.RawMessage   `json:"jsonData"`
	SecureJSONData map[string]string `json:"secureJsonData"`
}

// ClusterConfig is the part of a jsonData.clusters[] entry the harness reads.
type ClusterConfig struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Enabled *bool  `json:"enabled"`
}

// Clusters lists jsonData.clusters[] (id and name).
func (s Settings) Clusters() ([]ClusterConfig, error) {
	var jd struct {
		Clusters []ClusterConfig `json:"clusters"`
	}
	if err := json.Unmarshal(s.JSONData, &jd); err != nil {
		return nil, fmt.Errorf("settings jsonData: %w", err)
	}
	return jd.Clusters, nil
}

// ClusterName returns the display name registered for id.
func (s Settings) ClusterName(id string) (string, error) {
	cs, err := s.Clusters()
	if err != nil {
		return "", err
	}
	for _, c := range cs {
		if c.ID == id {
			return c.Name, nil
		}
	}
	return "", fmt.Errorf("cluster %q is not in the stack's settings.json", id)
}

// WithJSONData returns a copy of s whose jsonData has been passed through
// edit (decoded as a generic object, re-encoded afterwards).
func (s Settings) WithJSONData(edit func(map[string]any)) (Settings, error) {
	var obj map[string]any
	if err := json.Unmarshal(s.JSONData, &obj); err != nil {
		return Settings{}, fmt.Errorf("settings jsonData: %w", err)
	}
	edit(obj)
	b, err := json.Marshal(obj)
	if err != nil {
		return Settings{}, err
	}
	out := Settings{JSONData: b, SecureJSONData: map[string]string{}}
	for k, v := range s.SecureJSONData {
		out.SecureJSONData[k] = v
	}
	return out, nil
}

// ParseEnvFile reads sourceable KEY=value lines (optional `export `, optional
// single or double quotes, `#` comments).
func ParseEnvFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: not KEY=value: %q", path, n, line)
		}
		value = strings.TrimSpace(value)
		if len(value) >= 2 && (value[0] == '"' || value[0] == '\'') && value[len(value)-1] == value[0] {
			value = value[1 : len(value)-1]
		}
		env[strings.TrimSpace(key)] = value
	}
	return env, sc.Err()
}

// LoadStack reads the env file and the settings it points at.
func LoadStack(envFile string) (*Stack, error) {
	env, err := ParseEnvFile(envFile)
	if err != nil {
		return nil, err
	}
	var missing []string
	get := func(k string) string {
		v, ok := env[k]
		if !ok || v == "" {
			missing = append(missing, k)
		}
		return v
	}
	s := &Stack{
		Dir:             get("FLEETSCOPE_STACK_DIR"),
		PromEastURL:     get("PROM_EAST_URL"),
		PromWestURL:     get("PROM_WEST_URL"),
		PromEdgeURL:     get("PROM_EDGE_URL"),
		DeadURL:         get("DEAD_URL"),
		HungURL:         get("HUNG_URL"),
		AlertmanagerURL: get("ALERTMANAGER_URL"),
		RedisURL:        get("REDIS_URL"),
	}
	start, end, step := get("STACK_DATA_START_MS"), get("STACK_DATA_END_MS"), get("STACK_STEP_SECONDS")
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s lacks %s", envFile, strings.Join(missing, ", "))
	}
	ms := func(k, v string) (time.Time, error) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s=%q: %w", k, v, err)
		}
		return time.UnixMilli(n).UTC(), nil
	}
	if s.DataStart, err = ms("STACK_DATA_START_MS", start); err != nil {
		return nil, err
	}
	if s.DataEnd, err = ms("STACK_DATA_END_MS", end); err != nil {
		return nil, err
	}
	secs, err := strconv.ParseFloat(step, 64)
	if err != nil || secs <= 0 {
		return nil, fmt.Errorf("STACK_STEP_SECONDS=%q is not a positive number", step)
	}
	s.Step = time.Duration(secs * float64(time.Second))
	if !s.DataEnd.After(s.DataStart) {
		return nil, fmt.Errorf("STACK_DATA_END_MS %v is not after STACK_DATA_START_MS %v", s.DataEnd, s.DataStart)
	}

	settingsPath := filepath.Join(s.Dir, "settings.json")
	raw, err := os.ReadFile(settingsPath)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &s.Settings); err != nil {
		return nil, fmt.Errorf("%s: %w", settingsPath, err)
	}
	if len(s.Settings.JSONData) == 0 {
		return nil, fmt.Errorf("%s has no jsonData", settingsPath)
	}
	if s.Settings.SecureJSONData == nil {
		s.Settings.SecureJSONData = map[string]string{}
	}
	return s, nil
}
