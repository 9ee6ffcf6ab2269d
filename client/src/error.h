#pragma once
#include "credsync/error.h"
