package domain

import "github.com/cus-suite/cus/platform/apierr"

// The catalogue's errors. Reasons are stable: integrators switch on them.
var (
	ErrServiceNotFound     = apierr.New(apierr.KindNotFound, "SERVICE_NOT_FOUND", "service not found")
	ErrProgrammeNotFound   = apierr.New(apierr.KindNotFound, "PROGRAMME_NOT_FOUND", "programme not found")
	ErrServiceExists       = apierr.New(apierr.KindAlreadyExists, "SERVICE_ALREADY_EXISTS", "a service with this id already exists")
	ErrProgrammeExists     = apierr.New(apierr.KindAlreadyExists, "PROGRAMME_ALREADY_EXISTS", "a programme with this id already exists")
	ErrReadOnlyOrigin      = apierr.New(apierr.KindFailedPrecondition, "FEDERATED_READ_ONLY", "the entry comes from another CUS instance and is read-only here")
	ErrRevisionUnavailable = apierr.New(apierr.KindOutOfRange, "REVISION_IN_FUTURE", "after_revision is above the newest revision of this catalogue")
)
