package main

import (
	"archive/tar"
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"time"
)

// windowsEntry describes an entry of a Windows layer the way hcsshim's exporter sees it: the file's basic
// information (attributes and four FILETIMEs) and what its backup streams said. The header is then built the
// way go-winio's backuptar builds it, so the C# reader is checked against Go's formatting of every field.
type windowsEntry struct {
	// Kind is "" for a file or directory, "ads" for an alternate data stream, "link" for a later hard-link name.
	Kind           string `json:"kind"`
	Attributes     uint32 `json:"attributes"`
	CreationTime   int64  `json:"creationTime"`
	LastAccessTime int64  `json:"lastAccessTime"`
	LastWriteTime  int64  `json:"lastWriteTime"`
	ChangeTime     int64  `json:"changeTime"`
	// StreamMode holds the mode bits the backup streams add: 0100000 for a data stream, 0120000 for reparse data.
	StreamMode         int64   `json:"streamMode"`
	Reparse            bool    `json:"reparse"`
	MountPoint         bool    `json:"mountPoint"`
	HasSecurity        bool    `json:"hasSecurity"`
	SecurityDescriptor []byte  `json:"securityDescriptor"`
	ExtendedAttributes []xattr `json:"extendedAttributes"`
}

const (
	fileAttributeDirectory = 0x10
	filetimeUnixEpoch      = 116444736000000000
)

// filetimeToTime converts 100-nanosecond ticks since 1601 the way x/sys/windows does, overflow included.
func filetimeToTime(ticks int64) time.Time {
	return time.Unix(0, (ticks-filetimeUnixEpoch)*100)
}

// paxTimeText is archive/tar's own text for a PAX time record, read back from a header it wrote.
func paxTimeText(t time.Time) (string, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "t", Typeflag: tar.TypeReg, AccessTime: t, Format: tar.FormatPAX}); err != nil {
		return "", err
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	hdr, err := tar.NewReader(&buf).Next()
	if err != nil {
		return "", err
	}
	return hdr.PAXRecords["atime"], nil
}

func windowsHeader(e entry) (*tar.Header, error) {
	w := e.Windows
	hdr := &tar.Header{
		Format:     tar.FormatPAX,
		Name:       string(e.Name),
		Size:       e.Size,
		Typeflag:   tar.TypeReg,
		ModTime:    filetimeToTime(w.LastWriteTime),
		AccessTime: filetimeToTime(w.LastAccessTime),
		ChangeTime: filetimeToTime(w.ChangeTime),
	}
	if w.Kind == "ads" {
		hdr.Mode = e.Mode
		return hdr, nil
	}

	creation, err := paxTimeText(filetimeToTime(w.CreationTime))
	if err != nil {
		return nil, fmt.Errorf("creation time: %w", err)
	}
	hdr.PAXRecords = map[string]string{
		"MSWINDOWS.fileattr":      strconv.FormatUint(uint64(w.Attributes), 10),
		"LIBARCHIVE.creationtime": creation,
	}
	if w.Attributes&fileAttributeDirectory != 0 {
		hdr.Mode |= 0o40000
		hdr.Size = 0
		hdr.Typeflag = tar.TypeDir
	}

	switch w.Kind {
	case "link":
		hdr.Mode = 0o644
		hdr.Typeflag = tar.TypeLink
		hdr.Linkname = string(e.Linkname)
		hdr.Size = 0
		return hdr, nil
	case "":
	default:
		return nil, fmt.Errorf("unknown windows entry kind %q", w.Kind)
	}

	hdr.Mode |= w.StreamMode
	if w.Reparse {
		hdr.Typeflag = tar.TypeSymlink
		hdr.Linkname = string(e.Linkname)
		if w.MountPoint {
			hdr.PAXRecords["MSWINDOWS.mountpoint"] = "1"
		}
	}
	if w.HasSecurity {
		hdr.PAXRecords["MSWINDOWS.rawsd"] = base64.StdEncoding.EncodeToString(w.SecurityDescriptor)
	}
	for _, ea := range w.ExtendedAttributes {
		hdr.PAXRecords["MSWINDOWS.xattr."+string(ea.Name)] = base64.StdEncoding.EncodeToString(ea.Value)
	}
	return hdr, nil
}
