package badger

import (
	"bytes"
	"context"
	"fmt"

	bdg "github.com/dgraph-io/badger/v4"
)

// checkConsistency checks the whole database: every object decodes under
// its key, every object has each index entry derived from it, every index
// entry is derived from a stored object, and no key lies outside the
// layout.
func checkConsistency(ctx context.Context, s *Store) error {
	return s.db.View(func(txn *bdg.Txn) error {
		derived := make(map[string]bool)
		it := txn.NewIterator(bdg.IteratorOptions{Prefix: pObject, PrefetchValues: true})
		defer it.Close()
		for it.Seek(pObject); it.ValidForPrefix(pObject); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			id, err := castCID(it.Item().Key()[len(pObject):], it.Item().Key())
			if err != nil {
				return err
			}
			raw, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			o, err := decodeStored(id, raw)
			if err != nil {
				return err
			}
			for _, k := range indexKeys(o) {
				derived[string(k)] = true
				ok, err := exists(txn, k)
				if err != nil {
					return err
				}
				if !ok {
					return fmt.Errorf("%s %s: index entry %q missing", o.Type(), id, k)
				}
			}
		}
		all := txn.NewIterator(bdg.IteratorOptions{})
		defer all.Close()
		for all.Rewind(); all.Valid(); all.Next() {
			k := all.Item().Key()
			switch {
			case bytes.HasPrefix(k, pObject), bytes.Equal(k, keySchema), bytes.Equal(k, keyID):
			case hasIndexPrefix(k):
				if !derived[string(k)] {
					return fmt.Errorf("index entry %q is derived from no stored object", k)
				}
				if all.Item().ValueSize() != 0 {
					return fmt.Errorf("index entry %q has a value", k)
				}
			default:
				return fmt.Errorf("key %q outside the layout", k)
			}
		}
		return nil
	})
}

func hasIndexPrefix(k []byte) bool {
	for _, p := range indexPrefixes {
		if bytes.HasPrefix(k, p) {
			return true
		}
	}
	return false
}
