// Command go-reference writes the comparison entry set with Go's archive/tar, the writer containerd and moby use.
//
// Usage: go run main.go <entries.json> <output.tar>
package main

import (
	"archive/tar"
	"encoding/json"
	"fmt"
	"os"
	"time"
)

type xattr struct {
	Name  []byte `json:"name"`
	Value []byte `json:"value"`
}

type entry struct {
	Name     []byte  `json:"name"`
	Type     byte    `json:"type"`
	Mode     int64   `json:"mode"`
	UID      int     `json:"uid"`
	GID      int     `json:"gid"`
	Mtime    int64   `json:"mtime"`
	Linkname []byte  `json:"linkname"`
	Data     []byte  `json:"data"`
	Xattrs   []xattr `json:"xattrs"`
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go run main.go <entries.json> <output.tar>")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(manifest, output string) error {
	raw, err := os.ReadFile(manifest)
	if err != nil {
		return err
	}
	var entries []entry
	if err := json.Unmarshal(raw, &entries); err != nil {
		return err
	}
	out, err := os.Create(output)
	if err != nil {
		return err
	}
	defer out.Close()
	tw := tar.NewWriter(out)
	for _, e := range entries {
		hdr := &tar.Header{
			Typeflag: e.Type,
			Name:     string(e.Name),
			Linkname: string(e.Linkname),
			Mode:     e.Mode,
			Uid:      e.UID,
			Gid:      e.GID,
			Size:     int64(len(e.Data)),
			ModTime:  time.Unix(e.Mtime, 0),
		}
		if len(e.Xattrs) > 0 {
			hdr.PAXRecords = map[string]string{}
			for _, x := range e.Xattrs {
				hdr.PAXRecords["SCHILY.xattr."+string(x.Name)] = string(x.Value)
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("%s: %w", e.Name, err)
		}
		if _, err := tw.Write(e.Data); err != nil {
			return err
		}
	}
	return tw.Close()
}
