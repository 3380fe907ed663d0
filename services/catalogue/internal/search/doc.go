// Package search is the catalogue's in-memory search index: full text with
// Polish-aware folding, prefix and typo tolerance, BM25F ranking, facet
// counts, opening-hours and geo filters over catalogue services, and the
// list projection ListServices and the exports filter and order by. It
// owns the index's snapshot format (snapshot.go).
//
// # Why not bleve (or another search library)
//
// The catalogue keeps a single bbolt data file as its source of truth. A
// library index such as bleve wants its own on-disk store (a second file or
// directory to back up, migrate and keep consistent with bbolt across
// crashes), or, used in memory, is slower than this package and answers
// facets by walking its matches: on the same 500,000 services it answered
// p50 3.9 ms without facets. The query mix the catalogue needs (free text
// with diacritics and typos, area/target-group facets over all matches,
// TERC, age, "open now" and radius filters) is served here by a
// purpose-built structure in plain Go with no dependency. The index is
// derived state: a snapshot records the store revision it reflects and the
// caller catches up from the change feed, or rebuilds from the store.
//
// # Structure (what a document costs)
//
// A document's text is tokenised into postings and dropped: the index keeps
// no Description, Eligibility or Keywords, which at 500,000 services was
// most of a gigabyte. Per document it keeps, in parallel arrays indexed by
// an internal doc number: the ID and revision, the list projection List's
// callers filter and order by (Name, collation SortKey without its run of
// default secondary weights, status, origin, providers, times,
// requires-decision), the filter data (flags, areas, target groups, age
// bounds, TERC ids, points, opening hours and their week map), the folded
// name (the tie-break order), the field lengths (the BM25 norms are
// computed from them when needed), and its distinct term ids as uvarint
// deltas (about 1.6 bytes a term with the slice header: what an update
// needs to find the postings to edit).
//
// A term's postings are parallel arrays in doc-number order: doc numbers,
// per-field frequencies packed 6 bits a field and kept as a one-byte code
// of a dictionary of the 255 commonest values (a corpus has a few hundred;
// the rest are escaped to a map, and the codes are recounted after a bulk
// load, a snapshot read, and when the escapes grow), and impacts:
// the posting's BM25F term score t/(t+k1) precomputed in 1/65535 units,
// with the list's largest impact beside it: 7 bytes a posting. Terms found in at least 1/32 of the documents
// also keep their documents as a dense bitset. Impacts follow the norms:
// they are recomputed with them after a bulk load and when the average
// field lengths drift by more than 2%.
//
// Filters are bitsets over doc numbers, kept current by every write: live,
// active, free of charge, one per area and per target group, one per age
// 0-120 (the documents whose bounds admit it), and per hour of the week the
// documents open some of and all of it. TERC codes have doc lists, and a
// 0.1-degree geo grid has the documents with a point in each cell. Every
// structure is a flat array or a map of flat arrays, so a snapshot writes
// them as they are and derives the bitsets, lists and cells on reading.
//
// # Matching
//
// Text is lower-cased and Latin diacritics are folded (ą→a, ł→l, ż→z, é→e,
// ...), so "zlobek", "Żłobek" and "ŻŁOBEK" are the same term. Each query term
// matches, in decreasing weight: the exact term; indexed terms it is a prefix
// of (for terms of four or more letters, and for the last word while it is
// being typed); terms sharing its stem after stripping one Polish
// inflectional ending; and terms within Damerau-Levenshtein distance 1
// (4-7 letters) or 2 (8 or more), found by shared bigrams, then a 64-bit
// letter signature per term, before the distance itself is computed. All
// query terms must match; if that
// yields nothing the query falls back to any term, and documents matching
// more terms rank first (coordination factor). A query without text is
// ordered by distance when it has a centre, else by name.
//
// # Answering a query
//
// Matching is exact and works on sets: the documents passing the bitset
// filters, AND the union of each term's variants (dense bitsets OR-ed,
// others set bit by bit), then the per-document checks only bitsets cannot
// settle (an age above 120, a partly open hour, the exact radius) on what
// is left. Facets are popcounts of that set against the area and target
// group bitsets, each with every filter but its own, or, for a block of
// eight words holding a single match (and for a set rarer than a match per
// eight words, every match), read from a compact per-document array; Total is the popcount of the final set. Both stay exact however
// the ranking prunes. A radius is settled a geo cell at a time where it
// can be: a cell beyond it is skipped and the documents of a cell wholly
// within it match without their points being read; in the ring of cells
// the circle crosses, lower and upper bounds of the distance leave only
// the documents near the circle to haversine. A query without text ordered
// by distance visits the cells nearest first and computes the distance only
// of the documents of cells whose bound can still reach the page. The
// documents open at a minute ("open now") are cached until the next write
// (querycache.go).
//
// Ranking scores only the final matches and does not score all of them:
// the variants of every term are visited from the highest possible
// contribution (weight times the list's largest impact) down, keeping the
// k = offset+limit best documents seen; once the k-th of them beats what a
// document not yet seen could still reach, the visit stops (the MaxScore
// idea, over variants instead of whole terms). The documents seen that can
// still reach the top k get their missing terms looked up by binary search,
// so every ranked score is exact. Offset and limit come from the query, so
// a deep page costs more than the first.
//
// # Consistency
//
// Every document carries its store revision. Upsert ignores versions older
// than the indexed one and Delete leaves a tombstone, so change events
// applied out of order (for example a rebuild racing with live updates)
// converge to the store's state.
//
// The Index is safe for concurrent use: searches share a read lock, writes
// take the write lock and cost a few postings-list edits per distinct term
// and a few bit flips per filter.
package search
