// Placeholder module. It keeps this template's main package (which imports
// motcua/function, present only in a build context) out of the root module's
// ./... patterns. In every build context the stack file's configuration.copy
// replaces this file with the repository's go.mod.
module motcua-template-placeholder

go 1.26.0
