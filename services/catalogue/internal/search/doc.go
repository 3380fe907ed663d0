// Package search is the catalogue's in-memory search index: full text with
// Polish-aware folding, prefix and typo tolerance, BM25F ranking, facet
// counts, opening-hours and geo filters over catalogue services.
//
// # Why not bleve (or another search library)
//
// The catalogue keeps a single bbolt data file as its only state. A library
// index such as bleve wants its own on-disk store (a second file or
// directory to back up, migrate and keep consistent with bbolt across
// crashes), or, used in memory, indexes far slower than this package: the
// index here is rebuilt from the bbolt store at start-up, and 100k services
// must load in a few seconds. The query mix the catalogue needs (free text
// with diacritics and typos, area/target-group facets, TERC, age, "open now"
// and radius filters) must answer with p99 under 20 ms on one core at 100k
// documents. A purpose-built structure meets both with plain Go and no
// dependency: a term dictionary with per-term postings (doc number plus
// packed per-field frequencies), dense per-document filter data, a bigram
// index over the vocabulary for typo candidates and a sorted vocabulary for
// prefix expansion. Nothing is persisted: bbolt remains the source of truth
// and the index is derived state, so it can never disagree with the store
// after a restart.
//
// # Matching
//
// Text is lower-cased and Latin diacritics are folded (ą→a, ł→l, ż→z, é→e,
// ...), so "zlobek", "Żłobek" and "ŻŁOBEK" are the same term. Each query term
// matches, in decreasing weight: the exact term; indexed terms it is a prefix
// of (for terms of four or more letters, and for the last word while it is
// being typed); terms sharing its stem after stripping one Polish
// inflectional ending; and terms within Damerau-Levenshtein distance 1
// (4-7 letters) or 2 (8 or more). All query terms must match; if that
// yields nothing the query falls back to any term, and documents matching
// more terms rank first.
//
// # Consistency
//
// Every document carries its store revision. Upsert ignores versions older
// than the indexed one and Delete leaves a tombstone, so change events
// applied out of order (for example a rebuild racing with live updates)
// converge to the store's state.
//
// The Index is safe for concurrent use: searches share a read lock, writes
// take the write lock and cost a few postings-list edits per distinct term.
package search
