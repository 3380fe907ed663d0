// Package logging builds the suite's zap loggers. Loggers are passed explicitly; there is no global logger.
// Log lines carry request ids, methods, codes and durations, never personal data or bearer tokens.
package logging

import (
	"fmt"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zapgrpc"
	"google.golang.org/grpc/grpclog"
)

// New returns a logger at level ("debug", "info", "warn", "error") in format "json" or "console".
func New(service, level, format string) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	var cfg zap.Config
	switch format {
	case "json":
		cfg = zap.NewProductionConfig()
		cfg.EncoderConfig.TimeKey = "time"
		cfg.EncoderConfig.EncodeTime = zapcore.RFC3339NanoTimeEncoder
	case "console":
		cfg = zap.NewDevelopmentConfig()
		cfg.DisableStacktrace = true
	default:
		return nil, fmt.Errorf("log format %q: want json or console", format)
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.Sampling = nil
	log, err := cfg.Build()
	if err != nil {
		return nil, err
	}
	return log.With(zap.String("service", service)), nil
}

// RouteGRPCLogs sends the gRPC library's own log lines (and grpc-gateway's, which use it) through log, at warning
// level and above, so a process writes only structured lines. gRPC's logger is process-wide by design; call
// this once from main.
func RouteGRPCLogs(log *zap.Logger) {
	grpclog.SetLoggerV2(zapgrpc.NewLogger(log.WithOptions(zap.IncreaseLevel(zapcore.WarnLevel)).With(zap.String("component", "grpc"))))
}
