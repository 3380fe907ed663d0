// Package domain holds the rules of the provider registry: which identifiers each kind of provider must have and
// how they are normalised and validated, which legal bases suit which kinds, the capacity arithmetic of
// agreements, update masks, list filters, and the CSV import (parsing, matching rows to registered providers,
// and planning what to write). It works on the API's messages but imports neither gRPC nor storage.
package domain
