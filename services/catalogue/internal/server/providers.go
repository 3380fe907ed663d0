package server

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cus-suite/cus/platform/apierr"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
)

// ProviderDirectory checks the providers a service names against the provider registry and returns their
// display names. Without one (no registry configured), provider names are checked for format only.
type ProviderDirectory interface {
	DisplayNames(ctx context.Context, names []string) ([]string, error)
}

// errRegistryUnavailable is answered when the registry cannot confirm the providers: nothing is written.
var errRegistryUnavailable = apierr.New(apierr.KindUnavailable, "PROVIDER_REGISTRY_UNAVAILABLE",
	"the provider registry cannot be reached to check the service's providers; retry later")

// RegistryDirectory asks the provider service.
type RegistryDirectory struct {
	Client  providerv1.ProviderServiceClient
	Timeout time.Duration
}

// DisplayNames implements ProviderDirectory.
func (r RegistryDirectory) DisplayNames(ctx context.Context, names []string) ([]string, error) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := make([]string, len(names))
	var v apierr.Violations
	for i, name := range names {
		p, err := r.Client.GetProvider(ctx, &providerv1.GetProviderRequest{Name: name})
		switch {
		case status.Code(err) == codes.NotFound:
			v.Add(fmt.Sprintf("service.providers[%d]", i), "no provider %s in the provider registry", name)
			continue
		case err != nil:
			return nil, errRegistryUnavailable
		case p.GetStatus() == providerv1.ProviderStatus_PROVIDER_STATUS_CLOSED:
			v.Add(fmt.Sprintf("service.providers[%d]", i), "provider %s is closed", name)
			continue
		}
		out[i] = p.GetDisplayName()
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// SetProviderDirectory turns on the check of providers against the registry.
func (s *Server) SetProviderDirectory(d ProviderDirectory) { s.providers = d }

// providerNames checks names (when a directory is set) and returns their display names.
func (s *Server) providerNames(ctx context.Context, names []string) ([]string, error) {
	if s.providers == nil || len(names) == 0 {
		return nil, nil
	}
	return s.providers.DisplayNames(ctx, names)
}
