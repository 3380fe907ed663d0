package storage

import (
	"io"
	"net/http"
	"strconv"

	"go.uber.org/zap"
)

// Snapshotter is what a backup is taken from: a Backend, or a store that may replace its backend (compaction).
type Snapshotter interface {
	Revision() int64
	Backup(w io.Writer) (int64, error)
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
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
		w.Header().Set("X-Revision", strconv.FormatInt(be.Revision(), 10))
		n, err := be.Backup(w)
		if err != nil {
			log.Error("backup failed", zap.Int64("bytes", n), zap.Error(err))
			return
		}
		log.Info("backup written", zap.Int64("bytes", n))
	})
}
