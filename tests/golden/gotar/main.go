// Command gotar writes a tar to stdout with Go's archive/tar, the way containerd writes layer tars, from a JSON
// array of entry specs on stdin. It is the reference the C# golden-bytes tests compare TarHeaderEncoder with.
// "gotar read" reads a tar from stdin the way containerd reads one, and fails on the first error.
//
// Byte strings (names, link names, xattr names and values, data) are base64 in the JSON, so they may hold any
// bytes, UTF-8 or not. An entry with a "windows" object is built the way hcsshim's exporter builds Windows layer
// entries instead (see windows.go).
package main

import (
	"archive/tar"
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

type xattr struct {
	Name  []byte `json:"name"`
	Value []byte `json:"value"`
}

// paxTime is a time as seconds (rounded down) and nanoseconds past them.
type paxTime struct {
	Sec  int64 `json:"sec"`
	Nsec int64 `json:"nsec"`
}

func (t *paxTime) time() time.Time {
	if t == nil {
		return time.Time{}
	}
	return time.Unix(t.Sec, t.Nsec)
}

type entry struct {
	Name       []byte  `json:"name"`
	Type       string  `json:"type"`
	Mode       int64   `json:"mode"`
	UID        int     `json:"uid"`
	GID        int     `json:"gid"`
	Size       int64   `json:"size"`
	Mtime      int64   `json:"mtime"`
	Linkname   []byte  `json:"linkname"`
	Devmajor   int64   `json:"devmajor"`
	Devminor   int64   `json:"devminor"`
	Xattrs     []xattr `json:"xattrs"`
	Data       []byte  `json:"data"`
	Whiteout   bool    `json:"whiteout"`
	HeaderOnly bool    `json:"headerOnly"`

	// Sub-second mtime, atime, ctime and further PAX records: the fields Windows layer entries use.
	MtimeNanos int64         `json:"mtimeNanos"`
	Atime      *paxTime      `json:"atime"`
	Ctime      *paxTime      `json:"ctime"`
	PaxRecords []xattr       `json:"paxRecords"`
	Windows    *windowsEntry `json:"windows"`
}

// header builds what containerd builds for a file, or what hcsshim builds for a whiteout.
func header(e entry) (*tar.Header, error) {
	if len(e.Type) != 1 {
		return nil, fmt.Errorf("type %q is not one typeflag byte", e.Type)
	}
	if e.Whiteout {
		return &tar.Header{Name: string(e.Name), Typeflag: e.Type[0]}, nil
	}
	if e.Windows != nil {
		return windowsHeader(e)
	}
	hdr := &tar.Header{
		Typeflag:   e.Type[0],
		Name:       string(e.Name),
		Linkname:   string(e.Linkname),
		Mode:       e.Mode,
		Uid:        e.UID,
		Gid:        e.GID,
		Size:       e.Size,
		ModTime:    time.Unix(e.Mtime, e.MtimeNanos),
		AccessTime: e.Atime.time(),
		ChangeTime: e.Ctime.time(),
		Devmajor:   e.Devmajor,
		Devminor:   e.Devminor,
		Format:     tar.FormatPAX,
	}
	if len(e.Xattrs)+len(e.PaxRecords) > 0 {
		hdr.PAXRecords = make(map[string]string, len(e.Xattrs)+len(e.PaxRecords))
		for _, x := range e.Xattrs {
			hdr.PAXRecords["SCHILY.xattr."+string(x.Name)] = string(x.Value)
		}
		for _, r := range e.PaxRecords {
			hdr.PAXRecords[string(r.Name)] = string(r.Value)
		}
	}
	return hdr, nil
}

func run() error {
	var entries []entry
	if err := json.NewDecoder(os.Stdin).Decode(&entries); err != nil {
		return fmt.Errorf("reading entry specs: %w", err)
	}
	out := bufio.NewWriter(os.Stdout)
	tw := tar.NewWriter(out)
	for i, e := range entries {
		hdr, err := header(e)
		if err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		if e.HeaderOnly {
			// The data of a huge entry is never written: the header bytes are all that is compared.
			return out.Flush()
		}
		if _, err := tw.Write(e.Data); err != nil {
			return fmt.Errorf("entry %d data: %w", i, err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("closing: %w", err)
	}
	return out.Flush()
}

// read walks every entry and its data, as an importer does.
func read() error {
	tr := tar.NewReader(bufio.NewReader(os.Stdin))
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return fmt.Errorf("%s: %w", hdr.Name, err)
		}
	}
}

func main() {
	command := run
	if len(os.Args) > 1 && os.Args[1] == "read" {
		command = read
	}
	if err := command(); err != nil {
		fmt.Fprintln(os.Stderr, "gotar:", err)
		os.Exit(1)
	}
}
