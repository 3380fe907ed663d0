package resource

import (
	"github.com/cus-suite/cus/platform/paging"
	"github.com/cus-suite/cus/platform/storage"
)

// Scan visits the resources whose keys start with prefix ("" for all), in key order, until fn returns false
// or an error.
func (k *Kind[T]) Scan(tx storage.ReadTx, prefix string, fn func(key string, m T, rev int64) (bool, error)) error {
	return tx.ScanPrefix(k.Bucket, []byte(prefix), func(key, v []byte) (bool, error) {
		m, rev, err := k.decode(key, v)
		if err != nil {
			return false, err
		}
		return fn(string(key), m, rev)
	})
}

// All reads the resources whose keys start with prefix, in key order.
func (k *Kind[T]) All(tx storage.ReadTx, prefix string) ([]T, error) {
	var out []T
	err := k.Scan(tx, prefix, func(_ string, m T, _ int64) (bool, error) {
		out = append(out, m)
		return true, nil
	})
	return out, err
}

// After reads up to limit resources with keys after the key `after` ("": from the first), in key order, and
// says whether more follow: a listing that resumes from the last key it returned.
func (k *Kind[T]) After(tx storage.ReadTx, after string, limit int) (out []T, more bool, err error) {
	var from []byte
	if after != "" {
		from = append([]byte(after), 0) // the first key after `after`
	}
	err = tx.Scan(k.Bucket, from, func(key, v []byte) (bool, error) {
		if len(out) == limit {
			more = true
			return false, nil
		}
		m, _, err := k.decode(key, v)
		if err != nil {
			return false, err
		}
		out = append(out, m)
		return true, nil
	})
	return out, more, err
}

// Page reads one page of the resources under prefix that keep accepts (nil: all), in key order, with the page
// tokens of platform/paging: token ("" for the first page) must have been issued for the same digest (the
// query without its page size and token), or INVALID_ARGUMENT INVALID_PAGE_TOKEN; next is "" on the last page.
// A token is the position in the listing, as every list of the suite pages.
func (k *Kind[T]) Page(tx storage.ReadTx, prefix string, keep func(T) bool, size int, token, digest string) (page []T, next string, err error) {
	offset, err := paging.Decode(token, digest)
	if err != nil {
		return nil, "", err
	}
	seen := 0
	err = k.Scan(tx, prefix, func(_ string, m T, _ int64) (bool, error) {
		if keep != nil && !keep(m) {
			return true, nil
		}
		seen++
		switch {
		case seen <= offset:
			return true, nil
		case len(page) == size:
			next = paging.Encode(offset+size, digest)
			return false, nil
		}
		page = append(page, m)
		return true, nil
	})
	return page, next, err
}
