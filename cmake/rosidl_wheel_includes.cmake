# The ROS wheels' exported Python targets name include directories of the machine that built them
# (/opt/python/...). After all interface packages of a directory are found and used, keep the directories
# that exist here and add this interpreter's and numpy's. A full ROS install has no such paths, so this
# changes nothing there. Used by this package's CMakeLists.txt and, through CMAKE_PROJECT_INCLUDE, for
# building other interface packages against the wheels (resource/build_interfaces.py).
function(marl_fix_wheel_includes)
  find_package(Python3 REQUIRED COMPONENTS Interpreter Development.Module)
  execute_process(
    COMMAND "${Python3_EXECUTABLE}" -c "import numpy; print(numpy.get_include())"
    OUTPUT_VARIABLE _numpy_include OUTPUT_STRIP_TRAILING_WHITESPACE)
  get_property(_imported DIRECTORY "${CMAKE_SOURCE_DIR}" PROPERTY IMPORTED_TARGETS)
  foreach(_tgt IN LISTS _imported)
    if(_tgt MATCHES "__rosidl_generator_py$")
      get_target_property(_dirs ${_tgt} INTERFACE_INCLUDE_DIRECTORIES)
      if(_dirs)
        set(_kept "")
        set(_changed FALSE)
        foreach(_d IN LISTS _dirs)
          if(EXISTS "${_d}")
            list(APPEND _kept "${_d}")
          else()
            set(_changed TRUE)
          endif()
        endforeach()
        if(_changed)
          list(APPEND _kept "${Python3_INCLUDE_DIRS}" "${_numpy_include}")
          set_target_properties(${_tgt} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_kept}")
        endif()
      endif()
    endif()
  endforeach()
endfunction()

if(MARL_FIX_WHEEL_INCLUDES_DEFERRED)
  # included as CMAKE_PROJECT_INCLUDE by a package that knows nothing of this: run at the end of its directory
  cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL marl_fix_wheel_includes)
endif()
