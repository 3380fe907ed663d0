package app

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The pages' files are checked at start-up, each error naming its flag.
func TestPagesFlagsAreValidated(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("site.json", `{"name":"CUS Rawicz","terc":"3022053"}`)
	criteria := write("criteria.json", `[{"from":"2025-01-01","single_person_grosze":101000,"per_person_in_family_grosze":82300}]`)
	for _, tc := range []struct {
		args []string
		bad  string // the flag the error must name, "" for none
	}{
		{[]string{"--cus-contact-file", good, "--income-criteria-file", criteria}, ""},
		{[]string{"--cus-contact-file", "../../../deploy/config/cus-contact.json.example"}, ""},
		{[]string{"--cus-contact-file", write("nameless.json", `{"terc":"3022053"}`)}, "cus-contact-file"},
		{[]string{"--cus-contact-file", filepath.Join(dir, "missing.json")}, "cus-contact-file"},
		{[]string{"--income-criteria-file", write("c2.json", `[{"from":"2025-13-01","single_person_grosze":1,"per_person_in_family_grosze":1}]`)}, "income-criteria-file"},
	} {
		var c Config
		fs := flag.NewFlagSet("gateway", flag.ContinueOnError)
		c.RegisterFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		err := c.Validate()
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("%v: %v", tc.args, err)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("%v: %v, want an error naming --%s", tc.args, err, tc.bad)
		}
	}
}
