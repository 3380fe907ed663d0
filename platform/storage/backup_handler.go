package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"strconv"

	"go.uber.org/zap"
)

// Headers of a backup response. The size and revision come first; the SHA-256 of the bytes sent comes as an
// HTTP trailer (chunked encoding: a trailer cannot follow a Content-Length body in HTTP/1.1), so the stream
// is hashed while it is written, never read twice. A client keeps the copy only if the bytes it received
// are exactly HeaderSize long, hash to the trailer, and pass bbolt's consistency check (backupcli.Fetch).
const (
	HeaderSize     = "X-Backup-Size"
	HeaderRevision = "X-Revision"
	TrailerSHA256  = "X-Backup-SHA256"
)

// Snapshotter is what a backup is taken from (a Backend).
type Snapshotter interface {
	Snapshot(begin func(size, revision int64) io.Writer) (int64, error)
}

// BackupHandler streams a consistent copy of the data file while the service keeps serving, for the admin
// listener (never the public one: the copy holds everything the service stores). Serve it only behind
// auth.RequireAdmin: the admin address is reachable by every local process and by monitoring.
func BackupHandler(be Snapshotter, filename string, log *zap.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		var h hash.Hash
		n, err := be.Snapshot(func(size, revision int64) io.Writer {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
			w.Header().Set(HeaderRevision, strconv.FormatInt(revision, 10))
			w.Header().Set(HeaderSize, strconv.FormatInt(size, 10))
			w.Header().Set("Trailer", TrailerSHA256)
			w.WriteHeader(http.StatusOK)
			h = sha256.New()
			return io.MultiWriter(w, h)
		})
		if err != nil {
			// The trailer is left out: the client refuses a copy without it. Nothing more can be said to a
			// client once the body has started.
			log.Error("backup failed", zap.Int64("bytes", n), zap.Error(err))
			if h == nil {
				http.Error(w, "backup failed", http.StatusInternalServerError)
			}
			return
		}
		w.Header().Set(TrailerSHA256, hex.EncodeToString(h.Sum(nil)))
		log.Info("backup written", zap.Int64("bytes", n))
	})
}
