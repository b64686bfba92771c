package procs

import "testing"

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    proc
		wantErr bool
	}{
		{
			name: "plain",
			line: "42 (sleep) S 7 42 7 0 -1 4194304 100 0 0 0\n",
			want: proc{pid: 42, ppid: 7, pgid: 42, state: 'S'},
		},
		{
			name: "command with spaces and parentheses",
			line: "9 (a) b (c)) Z 1 3 3 0 -1 0\n",
			want: proc{pid: 9, ppid: 1, pgid: 3, state: 'Z'},
		},
		{name: "no command", line: "9 S 1 3", wantErr: true},
		{name: "truncated", line: "9 (x) S 1", wantErr: true},
		{name: "bad pid", line: "x (x) S 1 3 3", wantErr: true},
		{name: "bad ppid", line: "9 (x) S y 3 3", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStat(tt.line)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseStat() error = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseStat() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestEnvEntry(t *testing.T) {
	tests := []struct {
		name, key, value, want string
		wantErr                bool
	}{
		{name: "plain", key: "K", value: "v", want: "K=v"},
		{name: "empty value", key: "K", want: "K="},
		{name: "empty key", value: "v", wantErr: true},
		{name: "key with equals", key: "K=x", value: "v", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := envEntry(tt.key, tt.value)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("envEntry() = %q, %v; want %q, error %v",
					got, err, tt.want, tt.wantErr)
			}
		})
	}
}
