//===- OutputFile.cpp - outputs that appear whole or not at all -----------===//
#include "norm-opt/Support/OutputFile.h"

#include "llvm/Support/ConvertUTF.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace llvm;
using namespace normopt;

AtomicFile::~AtomicFile() {
  if (stream) {
    // An unreported stream error would abort in raw_fd_ostream's destructor.
    stream->clear_error();
    stream.reset();
  }
  if (fd >= 0)
    ::close(fd);
  if (!tempPath.empty() && !committed)
    sys::fs::remove(tempPath);
}

Error AtomicFile::fail(const Twine &why) const {
  return createStringError(std::make_error_code(std::errc::io_error),
                           "cannot write '" + escapeForMessage(path) + "': " + why);
}

Error AtomicFile::open() {
  target = path;
  struct stat status;
  if (::stat(path.c_str(), &status) == 0) {
    if (S_ISDIR(status.st_mode))
      return fail("it is a directory");
    if (!S_ISREG(status.st_mode)) {
      // A device, FIFO or terminal (also through a link, as /dev/stdout):
      // written through, as cp does.
      fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
      if (fd < 0)
        return fail(std::strerror(errno));
      writeThrough = true;
      return Error::success();
    }
    // A regular file through a symlink: replace the file, keep the link.
    SmallString<256> resolved;
    if (auto ec = sys::fs::real_path(path, resolved))
      return fail(ec.message());
    target = std::string(resolved);
  } else if (::lstat(path.c_str(), &status) == 0 && S_ISLNK(status.st_mode)) {
    return fail("it is a symbolic link to nothing");
  }
  // The temporary sits in the target's folder, so the rename is atomic.
  SmallString<256> model(target);
  model += ".tmp-%%%%%%";
  if (auto ec = sys::fs::createUniqueFile(model, fd, tempPath))
    return fail(ec.message());
  return Error::success();
}

raw_fd_ostream &AtomicFile::os() {
  if (!stream)
    stream = std::make_unique<raw_fd_ostream>(fd, /*shouldClose=*/false);
  return *stream;
}

Error AtomicFile::write(ArrayRef<char> bytes) {
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return fail(n < 0 ? std::strerror(errno) : "no space");
    written += size_t(n);
  }
  return Error::success();
}

Error AtomicFile::finish() {
  if (stream) {
    stream->flush();
    std::error_code ec = stream->error();
    stream->clear_error();
    stream.reset();
    if (ec)
      return fail(ec.message());
  }
  // Regular files reach the disk before they replace the old one.
  if (!writeThrough && ::fsync(fd) != 0 && errno != EINVAL)
    return fail(std::strerror(errno));
  int closed = ::close(fd);
  fd = -1;
  if (closed != 0)
    return fail(std::strerror(errno));
  return Error::success();
}

Error AtomicFile::rename() {
  if (!writeThrough)
    if (auto ec = sys::fs::rename(tempPath, target))
      return fail(ec.message());
  committed = true;
  return Error::success();
}

Error AtomicFile::commit() {
  if (Error error = finish())
    return error;
  return rename();
}

Expected<AtomicFile &> OutputFiles::create(StringRef path) {
  AtomicFile &file = files.emplace_back(path);
  if (Error error = file.open()) {
    files.pop_back();
    return std::move(error);
  }
  return file;
}

Error OutputFiles::commit() {
  // Every file complete (written through, or on disk under its temporary
  // name) before the first one replaces its target.
  for (AtomicFile &file : files)
    if (Error error = file.finish())
      return error;
  for (AtomicFile &file : files)
    if (Error error = file.rename())
      return error;
  for (Adopted &temp : adopted) {
    if (auto ec = sys::fs::rename(temp.tempPath, temp.target))
      return createStringError(std::make_error_code(std::errc::io_error),
                               "cannot write '" + escapeForMessage(temp.target) +
                                   "': " + ec.message());
    if (temp.onRenamed)
      temp.onRenamed();
  }
  adopted.clear();
  return Error::success();
}

void OutputFiles::adopt(StringRef tempPath, StringRef target,
                        std::function<void()> onRenamed) {
  adopted.push_back({tempPath.str(), target.str(), std::move(onRenamed)});
}

std::string normopt::fileIdentity(StringRef path) {
  struct stat status;
  SmallString<256> copy(path);
  if (::stat(copy.c_str(), &status) == 0)
    return "inode:" + std::to_string(status.st_dev) + ":" + std::to_string(status.st_ino);
  SmallString<256> folder(sys::path::parent_path(path));
  if (folder.empty())
    folder = ".";
  SmallString<256> real;
  if (sys::fs::real_path(folder, real))
    real = folder;
  sys::path::append(real, sys::path::filename(path));
  return "path:" + std::string(real);
}

std::string normopt::escapeForMessage(StringRef text) {
  std::string out;
  raw_string_ostream os(out);
  const char *p = text.begin();
  while (p < text.end()) {
    unsigned char c = *p;
    if (c >= 0x80) {
      // Valid UTF-8 sequences stay (names in other scripts); stray bytes are
      // escaped.
      unsigned length = getNumBytesForUTF8(c);
      if (p + length <= text.end() &&
          isLegalUTF8Sequence(reinterpret_cast<const UTF8 *>(p),
                              reinterpret_cast<const UTF8 *>(p + length))) {
        os << StringRef(p, length);
        p += length;
        continue;
      }
      os << "\\x" << format_hex_no_prefix(c, 2);
    } else if (c == '\n') {
      os << "\\n";
    } else if (c == '\r') {
      os << "\\r";
    } else if (c == '\t') {
      os << "\\t";
    } else if (c == '\\' ) {
      os << "\\\\";
    } else if (c < 0x20 || c == 0x7f) {
      os << "\\x" << format_hex_no_prefix(c, 2);
    } else {
      os << char(c);
    }
    ++p;
  }
  return out;
}
