package config

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestFlagBeatsEnvBeatsDefault(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	dir := fs.String("data-dir", "var/x", "")
	addr := fs.String("listen", "127.0.0.1:1", "")
	grace := fs.Duration("shutdown-grace", time.Second, "")
	env := map[string]string{"CUS_DATA_DIR": "/srv/cus", "CUS_LISTEN": "0.0.0.0:9", "CUS_SHUTDOWN_GRACE": "3s"}
	if err := Parse(fs, []string{"--listen", "127.0.0.1:2"}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if *dir != "/srv/cus" || *addr != "127.0.0.1:2" || *grace != 3*time.Second {
		t.Fatalf("got %q %q %v", *dir, *addr, *grace)
	}
}

func TestBadEnvValueNamesTheVariable(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Duration("shutdown-grace", time.Second, "")
	err := Parse(fs, nil, func(k string) string {
		if k == "CUS_SHUTDOWN_GRACE" {
			return "soon"
		}
		return ""
	})
	if err == nil || !strings.Contains(err.Error(), "CUS_SHUTDOWN_GRACE") || !strings.Contains(err.Error(), "--shutdown-grace") {
		t.Fatalf("err = %v", err)
	}
}

func TestCheckerNamesEachSetting(t *testing.T) {
	var c Checker
	c.Addr("listen", "nonsense")
	c.Positive("shutdown-grace", 0)
	c.Range("max-recv-bytes", 1, 10, 20)
	c.NonEmpty("data-dir", " ")
	err := c.Err()
	for _, want := range []string{"--listen (CUS_LISTEN)", "--shutdown-grace", "--max-recv-bytes", "--data-dir (CUS_DATA_DIR)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err %v does not name %s", err, want)
		}
	}
	var ok Checker
	ok.Addr("listen", "127.0.0.1:7001")
	if ok.Err() != nil {
		t.Fatal(ok.Err())
	}
}

func TestUnexpectedArgumentIsRefused(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	if err := Parse(fs, []string{"stray"}, func(string) string { return "" }); err == nil {
		t.Fatal("stray argument accepted")
	}
}
