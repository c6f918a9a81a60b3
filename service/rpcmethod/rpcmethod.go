// Package rpcmethod classifies the API's RPCs by their names, which follow
// the AIP verbs: Create…, Get…, List…, Update…, Delete….
package rpcmethod

import "strings"

// Name is the method's own name in a full method name: "CreateTask" in
// "/workspace.v1.TaskService/CreateTask".
func Name(fullMethod string) string {
	return fullMethod[strings.LastIndexByte(fullMethod, '/')+1:]
}

// IsCreate reports whether the RPC creates a resource (AIP-133).
func IsCreate(fullMethod string) bool { return strings.HasPrefix(Name(fullMethod), "Create") }

// IsWrite reports whether the RPC changes stored data: a create, update or
// delete (AIP-133, 134, 135); every other method of the API only reads.
func IsWrite(fullMethod string) bool {
	name := Name(fullMethod)
	return strings.HasPrefix(name, "Create") || strings.HasPrefix(name, "Update") || strings.HasPrefix(name, "Delete")
}
