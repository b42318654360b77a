//===- OutputFile.h - outputs that appear whole or not at all ---*- C++ -*-===//
//
// Every file norm-opt writes (the model, its .data, the report, MLIR, text)
// goes through an AtomicFile: written under a temporary name in the target's
// folder and renamed onto the target only when the whole run succeeded, so a
// failure leaves nothing new behind and never a truncated file.
//
//===----------------------------------------------------------------------===//
#ifndef NORM_OPT_SUPPORT_OUTPUTFILE_H
#define NORM_OPT_SUPPORT_OUTPUTFILE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace normopt {

/// A file written under a temporary name and renamed onto `path` on commit;
/// the temporary is removed if it never is. A symlink is followed (the file
/// it names is replaced, the link stays). A target that exists and is not a
/// regular file (a device, a FIFO, /dev/stdout) is written through, as cp
/// does, and never replaced; a directory is refused.
class AtomicFile {
public:
  explicit AtomicFile(llvm::StringRef path) : path(path.str()) {}
  AtomicFile(const AtomicFile &) = delete;
  AtomicFile &operator=(const AtomicFile &) = delete;
  ~AtomicFile();

  /// Creates the temporary file (or opens the non-regular target).
  llvm::Error open();
  int descriptor() const { return fd; }
  /// A stream on the descriptor; its errors are reported by commit().
  llvm::raw_fd_ostream &os();
  /// Writes all of `bytes` (retrying short writes).
  llvm::Error write(llvm::ArrayRef<char> bytes);
  /// Flushes, closes and renames onto the target: finish(), then rename().
  llvm::Error commit();
  /// Flushes and closes the file (its last chance to fail on a full disk).
  llvm::Error finish();
  /// Renames the finished temporary onto the target.
  llvm::Error rename();
  bool writesThrough() const { return writeThrough; }

  const std::string path;

private:
  llvm::Error fail(const llvm::Twine &why) const;

  std::string target;
  llvm::SmallString<256> tempPath;
  std::unique_ptr<llvm::raw_fd_ostream> stream;
  int fd = -1;
  bool writeThrough = false;
  bool committed = false;
};

/// The outputs of one run, committed together after everything succeeded
/// (destroyed uncommitted, they leave nothing behind).
class OutputFiles {
public:
  /// Opens a new output for `path`.
  llvm::Expected<AtomicFile &> create(llvm::StringRef path);
  /// Adds a temporary file another component wrote and owns (the
  /// WeightStore's sink): renamed onto `target` with the other outputs,
  /// then `onRenamed` runs. Left to its owner to remove if never committed.
  void adopt(llvm::StringRef tempPath, llvm::StringRef target,
             std::function<void()> onRenamed);
  /// Finishes every output, then renames each onto its target (so a full
  /// disk or a failing device stops them all before any is replaced).
  llvm::Error commit();

private:
  struct Adopted {
    std::string tempPath, target;
    std::function<void()> onRenamed;
  };
  std::list<AtomicFile> files;
  std::vector<Adopted> adopted;
};

/// Identifies the file `path` names (or would name), for telling that two
/// paths are the same file: its device and inode when it exists (through
/// symlinks), else the real path of its folder plus its name.
std::string fileIdentity(llvm::StringRef path);

/// `text` with control characters and non-UTF-8 bytes escaped (\n, \t,
/// \xNN), for one-line messages that echo names from a model.
std::string escapeForMessage(llvm::StringRef text);

} // namespace normopt

#endif
