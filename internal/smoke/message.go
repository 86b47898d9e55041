package smoke

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
)

// Record value layout (big endian), MessageSize bytes in all:
//
//	offset  size  field
//	0       4     magic "SMK1"
//	4       16    run id (random per run)
//	20      8     sequence number, 0 to Messages-1
//	28      4     CRC-32C of every other byte of the value
//	32      rest  payload, pseudo-random bytes derived from run id and sequence
//
// Kafka already checksums record batches on the wire; this checksum catches
// what that cannot: a record that arrives intact but is not the one that was
// sent (mixed-up payloads, truncated values, a stale record from another run).
const (
	headerLen = 32
	crcOffset = 28
)

var (
	magic     = [4]byte{'S', 'M', 'K', '1'}
	crcTable  = crc32.MakeTable(crc32.Castagnoli)
	errShort  = errors.New("value shorter than the 32-byte smoke header")
	errMagic  = errors.New("value does not start with the smoke magic")
	errBadCRC = errors.New("checksum mismatch")
)

// runID identifies one smoke run; every message of the run carries it.
type runID [16]byte

func (r runID) String() string { return hex.EncodeToString(r[:]) }

func newRunID() (runID, error) {
	var r runID
	if _, err := rand.Read(r[:]); err != nil {
		return r, fmt.Errorf("smoke: run id: %w", err)
	}
	return r, nil
}

// encodeMessage fills dst (len(dst) >= headerLen) with message seq of run.
func encodeMessage(dst []byte, run runID, seq uint64) {
	copy(dst[0:4], magic[:])
	copy(dst[4:20], run[:])
	binary.BigEndian.PutUint64(dst[20:28], seq)
	fillPayload(dst[headerLen:], run, seq)
	binary.BigEndian.PutUint32(dst[crcOffset:headerLen], checksum(dst))
}

// checksum is the CRC-32C of value without its checksum field.
func checksum(value []byte) uint32 {
	c := crc32.Update(0, crcTable, value[:crcOffset])
	return crc32.Update(c, crcTable, value[headerLen:])
}

// fillPayload writes a splitmix64 stream seeded from run and seq: cheap,
// different for every message, reproducible.
func fillPayload(dst []byte, run runID, seq uint64) {
	x := binary.BigEndian.Uint64(run[0:8]) ^ binary.BigEndian.Uint64(run[8:16]) ^ (seq * 0x9E3779B97F4A7C15)
	var buf [8]byte
	for len(dst) > 0 {
		x += 0x9E3779B97F4A7C15
		z := x
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		z ^= z >> 31
		binary.BigEndian.PutUint64(buf[:], z)
		dst = dst[copy(dst, buf[:]):]
	}
}

// decodeMessage returns the run id and sequence number of value. It returns
// errShort or errMagic for values that are not smoke messages at all and
// errBadCRC for a smoke message whose bytes were altered.
func decodeMessage(value []byte) (runID, uint64, error) {
	var run runID
	if len(value) < headerLen {
		return run, 0, errShort
	}
	if [4]byte(value[0:4]) != magic {
		return run, 0, errMagic
	}
	if binary.BigEndian.Uint32(value[crcOffset:headerLen]) != checksum(value) {
		return run, 0, errBadCRC
	}
	copy(run[:], value[4:20])
	return run, binary.BigEndian.Uint64(value[20:28]), nil
}
