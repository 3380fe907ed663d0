package backupcli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/cus-suite/cus/platform/storage"
)

func backend(t *testing.T) *storage.Backend {
	t.Helper()
	be, err := storage.Open(filepath.Join(t.TempDir(), "d.db"), storage.Options{Buckets: []storage.Bucket{"items"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	for i := 0; i < 200; i++ {
		err := be.Update(context.Background(), func(tx storage.Tx) error {
			return tx.Put("items", []byte(strconv.Itoa(i)), []byte(strings.Repeat("v", 100)))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return be
}

// TestFetchKeepsOnlyAWholeVerifiedCopy: a whole stream is kept with its checksum file and restores; a stream
// cut off mid-way, one whose checksum differs, and one without its trailer are errors that leave nothing at
// the destination (today's code renamed a cut-off copy into place as a success).
func TestFetchKeepsOnlyAWholeVerifiedCopy(t *testing.T) {
	be := backend(t)
	real := storage.BackupHandler(be, "d.db", zap.NewNop())
	for _, tc := range []struct {
		name    string
		handler http.Handler
		want    string
	}{
		{"whole", real, ""},
		{"cut off mid-stream", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			real.ServeHTTP(&cutOff{ResponseWriter: w, left: 5000}, r)
		}), "cut off"},
		{"checksum differs", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			real.ServeHTTP(&flipByte{ResponseWriter: w, at: 6000}, r)
		}), "damaged in transit"},
		{"no trailer", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			real.ServeHTTP(&noTrailer{ResponseWriter: w}, r)
		}), "without its X-Backup-SHA256 trailer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			out := filepath.Join(t.TempDir(), "backup.db")
			_, n, err := Fetch(context.Background(), srv.URL, "tok", out)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("fetch: %v, want an error containing %q", err, tc.want)
				}
				entries, _ := os.ReadDir(filepath.Dir(out))
				if len(entries) != 0 {
					t.Fatalf("left behind: %v", entries)
				}
				return
			}
			if err != nil || n == 0 {
				t.Fatalf("fetch: %d %v", n, err)
			}
			sum, _ := storage.FileSHA256(out)
			if b, err := os.ReadFile(out + storage.ChecksumSuffix); err != nil || !strings.HasPrefix(string(b), sum+"  backup.db") {
				t.Fatalf("checksum file %q %v, want %s", b, err, sum)
			}
			if err := storage.Restore(out, filepath.Join(t.TempDir(), "restored.db"), time.Second); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// cutOff drops the connection after left bytes of the body, as a network failure or a killed service would.
type cutOff struct {
	http.ResponseWriter
	left int
}

func (c *cutOff) Write(p []byte) (int, error) {
	if len(p) >= c.left {
		c.ResponseWriter.Write(p[:c.left])
		c.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	c.left -= len(p)
	return c.ResponseWriter.Write(p)
}

type flipByte struct {
	http.ResponseWriter
	at, seen int
}

func (f *flipByte) Write(p []byte) (int, error) {
	q := append([]byte(nil), p...)
	if i := f.at - f.seen; i >= 0 && i < len(q) {
		q[i] ^= 0x01
	}
	f.seen += len(p)
	return f.ResponseWriter.Write(q)
}

// noTrailer hides the trailer the handler sets after the body, as a service that died after its last byte.
type noTrailer struct {
	http.ResponseWriter
	h http.Header
}

func (n *noTrailer) Header() http.Header {
	if n.h == nil {
		n.h = http.Header{}
	}
	return n.h
}

func (n *noTrailer) WriteHeader(code int) {
	for k, v := range n.h {
		if k != "Trailer" {
			n.ResponseWriter.Header()[k] = v
		}
	}
	n.ResponseWriter.WriteHeader(code)
}
