//go:build !unix

package badger

// freeSpace is unknown on this system: the store keeps no reserve.
func freeSpace(string) (int64, bool) { return 0, false }
