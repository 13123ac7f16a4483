package main

// FerretDB 1.24 applies an update by reading the matching document, computing the
// new one, and writing it back in a separate transaction. Two concurrent updates of
// one document therefore lose each other's changes (measured: 100 concurrent $inc
// left 13), where MongoDB guarantees single-document atomicity. The service relies
// on that guarantee, so this proxy restores it: clients connect here, FerretDB
// listens on a private Unix socket, and every write command runs under one mutex.
// Reads are not serialised; each write is still a single SQLite transaction.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
)

const (
	opMsg          = 2013
	headerSize     = 16
	maxMessageSize = 48 << 20
	moreToComeFlag = 1 << 1
	checksumFlag   = 1 << 0
)

// Commands that modify documents or collections; everything else passes straight through.
var writeCommands = map[string]bool{
	"insert": true, "update": true, "delete": true, "findAndModify": true,
	"findandmodify": true, "create": true, "createIndexes": true, "drop": true,
	"dropDatabase": true, "dropIndexes": true, "renameCollection": true,
}

type proxy struct {
	backend string // the Unix socket FerretDB listens on
	writes  sync.Mutex
	logger  *slog.Logger
}

func (p *proxy) serve(listener net.Listener) error {
	for {
		client, err := listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go p.relay(client)
	}
}

func (p *proxy) relay(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("unix", p.backend)
	if err != nil {
		p.logger.Error("proxy: cannot reach FerretDB", "error", err)
		return
	}
	defer server.Close()
	for {
		request, err := readMessage(client)
		if err != nil {
			return // client went away
		}
		if err := p.exchange(request, client, server); err != nil {
			p.logger.Warn("proxy: exchange failed", "error", err)
			return
		}
	}
}

// exchange forwards one request and its replies, holding the write lock if needed.
func (p *proxy) exchange(request []byte, client, server net.Conn) error {
	if isWrite(request) {
		p.writes.Lock()
		defer p.writes.Unlock()
	}
	if _, err := server.Write(request); err != nil {
		return err
	}
	if flags(request)&moreToComeFlag != 0 {
		return nil // the client asked for no reply
	}
	for {
		reply, err := readMessage(server)
		if err != nil {
			return err
		}
		if _, err := client.Write(reply); err != nil {
			return err
		}
		if flags(reply)&moreToComeFlag == 0 {
			return nil
		}
	}
}

func readMessage(conn io.Reader) ([]byte, error) {
	header := make([]byte, headerSize)
	if _, err := io.ReadFull(conn, header); err != nil {
		return nil, err
	}
	length := int(int32(binary.LittleEndian.Uint32(header)))
	if length < headerSize || length > maxMessageSize {
		return nil, fmt.Errorf("bad message length %d", length)
	}
	message := make([]byte, length)
	copy(message, header)
	if _, err := io.ReadFull(conn, message[headerSize:]); err != nil {
		return nil, err
	}
	return message, nil
}

func opCode(message []byte) int32 {
	return int32(binary.LittleEndian.Uint32(message[12:16]))
}

func flags(message []byte) uint32 {
	if opCode(message) != opMsg || len(message) < headerSize+4 {
		return 0
	}
	return binary.LittleEndian.Uint32(message[headerSize : headerSize+4])
}

// isWrite reads the command name: the first key of the OP_MSG body section.
func isWrite(message []byte) bool {
	if opCode(message) != opMsg {
		return false
	}
	offset := headerSize + 4
	end := len(message)
	if flags(message)&checksumFlag != 0 {
		end -= 4
	}
	for offset < end {
		kind := message[offset]
		offset++
		if kind == 0 {
			return writeCommands[firstKey(message[offset:end])]
		}
		if offset+4 > end { // a document sequence: its size, then skip it
			return false
		}
		offset += int(int32(binary.LittleEndian.Uint32(message[offset:])))
	}
	return false
}

func firstKey(document []byte) string {
	// int32 size, then the first element: a type byte and a NUL-terminated name.
	if len(document) < 6 {
		return ""
	}
	name := document[5:]
	if end := bytes.IndexByte(name, 0); end >= 0 {
		return string(name[:end])
	}
	return ""
}
