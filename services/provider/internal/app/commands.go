package app

import (
	"context"

	"github.com/cus-suite/cus/platform/backupcli"
)

// backups are the backup and restore subcommands of the provider registry.
var backups = backupcli.Service{Name: "provider", DefaultAdminURL: "http://127.0.0.1:9102", DefaultDataDir: "var/provider", DataFile: "provider.db"}

// BackupCommand copies the data file of a running provider registry through its admin endpoint.
func BackupCommand(ctx context.Context, args []string, getenv func(string) string) error {
	return backups.Backup(ctx, args, getenv)
}

// RestoreCommand puts a backup in place of the data file of a stopped provider registry.
func RestoreCommand(args []string, getenv func(string) string) error {
	return backups.Restore(args, getenv)
}
